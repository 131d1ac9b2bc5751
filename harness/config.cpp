// harness/config.cpp: YAML loading with locations, `base:` inheritance, --set, schema checks.
#include "harness/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/utf8.h"

namespace eidetic::harness {
namespace {

[[noreturn]] void fail(const Location& where, const std::string& what) { throw Error(where.str() + ": " + what); }

// A config is small: more values than this is an alias bomb ("billion laughs") or not a config.
constexpr int64_t kMaxConfigValues = 100000;
constexpr int64_t kMaxConfigTextBytes = int64_t{4} << 20;  // and so is more text than this
constexpr int kMaxBaseDepth = 32;                 // `base:` chains longer than this are refused
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;  // and so are config files over 1 MiB


// What one config may expand to: aliases let a small file name the same node many times.
struct Budget {
  int64_t values = kMaxConfigValues;
  int64_t text_bytes = kMaxConfigTextBytes;
};

ConfigValue from_yaml(const YAML::Node& node, const std::string& file, Budget& budget, int depth = 0) {
  if (--budget.values < 0) fail({file, 1, 1}, "more than " + std::to_string(kMaxConfigValues) + " values (aliases expanding?): not a config");
  if (depth > 64) fail({file, 1, 1}, "nested more than 64 levels deep: not a config");
  ConfigValue v;
  const YAML::Mark m = node.Mark();
  v.location = {file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      v.kind = ConfigValue::Kind::null;
      break;
    case YAML::NodeType::Scalar:
      v.kind = ConfigValue::Kind::scalar;
      v.scalar = node.Scalar();
      if ((budget.text_bytes -= static_cast<int64_t>(v.scalar.size())) < 0)
        fail({file, 1, 1}, "more than " + std::to_string(kMaxConfigTextBytes >> 20) + " MiB of text (aliases expanding?): not a config");
      if (!utf8::valid(v.scalar)) fail(v.location, "the value is not valid UTF-8 text");
      v.quoted = node.Tag() == "!";
      break;
    case YAML::NodeType::Sequence:
      v.kind = ConfigValue::Kind::sequence;
      for (const auto& item : node) v.items.push_back(from_yaml(item, file, budget, depth + 1));
      break;
    case YAML::NodeType::Map:
      v.kind = ConfigValue::Kind::map;
      for (const auto& kv : node) {
        const YAML::Mark km = kv.first.Mark();
        const Location kl{file, km.line + 1, km.column + 1};
        if (kv.first.Type() != YAML::NodeType::Scalar) fail(kl, "keys must be plain names");
        const std::string key = kv.first.Scalar();
        if (!utf8::valid(key)) fail(kl, "a key is not valid UTF-8 text");
        if ((budget.text_bytes -= static_cast<int64_t>(key.size())) < 0)
          fail({file, 1, 1}, "more than " + std::to_string(kMaxConfigTextBytes >> 20) + " MiB of text (aliases expanding?): not a config");
        if (v.find(key)) fail(kl, "key '" + key + "' appears twice");
        v.entries.emplace_back(key, from_yaml(kv.second, file, budget, depth + 1));
        v.key_locations.push_back(kl);
      }
      break;
  }
  return v;
}

// Records where each YAML document starts; ignores everything else.
struct DocumentStarts : YAML::EventHandler {
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

ConfigValue parse_text(const std::string& text, const std::string& file) {
  // YAML admits no control characters but tab and line breaks, and yaml-cpp can loop forever
  // on a NUL byte: such text is refused, with its position, before the parser sees it.
  int line = 1, column = 1;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      fail({file, line, column}, std::string("control character ") + code + " (a config is text)");
    }
    if (c == '\n') ++line, column = 1;
    else ++column;
  }
  if (!utf8::valid(text)) fail({file, 1, 1}, "not valid UTF-8 text");
  try {
    // Documents are counted (at most two) before the first is loaded: YAML::LoadAll would read
    // them all, and on some malformed text yaml-cpp returns documents forever without moving on.
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentStarts starts;
    for (int i = 0; i < 2 && parser.HandleNextDocument(starts); ++i) {
    }
    if (starts.marks.size() > 1) {
      const YAML::Mark& m = starts.marks[1];
      const Location at{file, m.line >= 0 ? m.line + 1 : 1, m.column >= 0 ? m.column + 1 : 1};
      if (m.pos <= starts.marks[0].pos) fail(at, "YAML syntax error: the text cannot be read past this point");
      fail(at, "a second YAML document ('---'): a config is one document");
    }
    Budget budget;
    return from_yaml(YAML::Load(text), file, budget);
  } catch (const YAML::ParserException& e) {
    fail({file, e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg);
  }
}

// child's entries override base's; maps merge recursively.
ConfigValue merge(ConfigValue base, const ConfigValue& child) {
  if (base.kind != ConfigValue::Kind::map || child.kind != ConfigValue::Kind::map) return child;
  for (size_t i = 0; i < child.entries.size(); ++i) {
    const auto& [key, value] = child.entries[i];
    auto it = std::find_if(base.entries.begin(), base.entries.end(), [&key = key](const auto& e) { return e.first == key; });
    if (it == base.entries.end()) {
      base.entries.emplace_back(key, value);
      base.key_locations.push_back(child.key_locations[i]);
    } else {
      it->second = merge(it->second, value);
      base.key_locations[static_cast<size_t>(it - base.entries.begin())] = child.key_locations[i];
    }
  }
  base.location = child.location;
  return base;
}

// One config file of a `base:` chain, as written (its own `base:` key kept).
ConfigValue load_file(const std::filesystem::path& file, const std::string& named_by) {
  const std::string name = file.string();
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status)) throw Error(name + ": config file not found" + named_by);
  if (!std::filesystem::is_regular_file(status)) throw Error(name + ": not a config file (a folder or a device)" + named_by);
  const auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxConfigBytes)
    throw Error(name + ": config file larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB" + named_by);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(name + ": cannot open the config file" + named_by);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ConfigValue v = parse_text(text, name);
  if (v.kind == ConfigValue::Kind::null) v.kind = ConfigValue::Kind::map, v.location = {name, 1, 1};
  if (v.kind != ConfigValue::Kind::map) fail(v.location, "a config must be a mapping of keys to values");
  return v;
}

// A config with its `base:` chain merged: loaded file by file (no recursion), refusing loops and
// chains deeper than kMaxBaseDepth, then merged from the furthest base down.
ConfigValue load_chain(const std::filesystem::path& file) {
  std::vector<ConfigValue> chain;
  std::set<std::string> seen;
  std::filesystem::path next = file;
  std::string named_by;
  while (true) {
    std::error_code ec;  // a name the file system refuses (too long, say) is an error of the config
    const std::string canonical = std::filesystem::weakly_canonical(next, ec).string();
    if (ec) throw Error(next.string().substr(0, 200) + ": not a usable config path (" + ec.message() + ")" + named_by);
    if (!seen.insert(canonical).second) throw Error(next.string() + ": `base:` chain loops back to this file" + named_by);
    if (static_cast<int>(chain.size()) >= kMaxBaseDepth)
      throw Error(file.string() + ": `base:` chain deeper than " + std::to_string(kMaxBaseDepth) + " files");
    ConfigValue v = load_file(next, named_by);
    const ConfigValue* base = v.find("base");
    std::filesystem::path base_path;
    if (base) {
      if (base->kind != ConfigValue::Kind::scalar || base->scalar.empty())
        fail(base->location, "key 'base': expected a config file name");
      base_path = next.parent_path() / base->scalar;
      named_by = " (named by `base:` at " + base->location.str() + ")";
      // `base` itself is not part of the result.
      for (size_t i = 0; i < v.entries.size(); ++i)
        if (v.entries[i].first == "base") {
          v.entries.erase(v.entries.begin() + static_cast<std::ptrdiff_t>(i));
          v.key_locations.erase(v.key_locations.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
    }
    chain.push_back(std::move(v));
    if (!base) break;
    next = base_path;
  }
  ConfigValue merged = std::move(chain.back());
  for (size_t i = chain.size() - 1; i-- > 0;) merged = merge(std::move(merged), chain[i]);
  return merged;
}

void apply_set(ConfigValue& root, const std::string& assignment) {
  const Location where{"--set " + assignment, 0, 0};
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) fail(where, "expected KEY=VALUE, e.g. --set attack.prefix_len=50");
  const std::string path = assignment.substr(0, eq);
  ConfigValue value = parse_text(assignment.substr(eq + 1), where.file);
  std::function<void(ConfigValue&)> relocate = [&](ConfigValue& v) {
    v.location = where;
    for (auto& l : v.key_locations) l = where;
    for (auto& i : v.items) relocate(i);
    for (auto& e : v.entries) relocate(e.second);
  };
  relocate(value);
  ConfigValue* node = &root;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) fail(where, "empty key in '" + path + "'");
    if (node->kind == ConfigValue::Kind::null) node->kind = ConfigValue::Kind::map;
    if (node->kind != ConfigValue::Kind::map) fail(where, "'" + path.substr(0, start ? start - 1 : 0) + "' is not a mapping");
    auto it = std::find_if(node->entries.begin(), node->entries.end(), [&](const auto& e) { return e.first == key; });
    if (it == node->entries.end()) {
      node->entries.emplace_back(key, ConfigValue{});
      node->key_locations.push_back(where);
      it = node->entries.end() - 1;
      it->second.location = where;
    } else {
      node->key_locations[static_cast<size_t>(it - node->entries.begin())] = where;
    }
    if (dot == std::string::npos) {
      it->second = value;
      return;
    }
    node = &it->second;
    start = dot + 1;
  }
}

const char* type_name(Field::Type t) {
  switch (t) {
    case Field::Type::string: return "a string";
    case Field::Type::integer: return "an integer";
    case Field::Type::number: return "a number";
    case Field::Type::boolean: return "true or false";
    case Field::Type::map: return "a mapping";
    case Field::Type::string_list: return "a list of strings";
    case Field::Type::integer_list: return "a list of integers";
    case Field::Type::integer_or_auto: return "an integer or auto";
    case Field::Type::any_map: return "a mapping";
    case Field::Type::map_list: return "a list of mappings";
  }
  return "a value";
}

bool parse_integer(const std::string& s, int64_t& out) {
  try {
    size_t used = 0;
    out = std::stoll(s, &used, 10);
    return used == s.size();
  } catch (const std::exception&) {
    return false;
  }
}

bool parse_number(const std::string& s, double& out) {
  try {
    size_t used = 0;
    out = std::stod(s, &used);
    return used == s.size() && std::isfinite(out);  // nan and inf are no settings
  } catch (const std::exception&) {
    return false;
  }
}

nlohmann::json infer(const ConfigValue& v) {
  switch (v.kind) {
    case ConfigValue::Kind::null: return nullptr;
    case ConfigValue::Kind::scalar: {
      if (v.quoted) return v.scalar;
      int64_t i;
      double d;
      if (parse_integer(v.scalar, i)) return i;
      if (parse_number(v.scalar, d)) return d;
      if (v.scalar == "true") return true;
      if (v.scalar == "false") return false;
      return v.scalar;
    }
    case ConfigValue::Kind::sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& i : v.items) a.push_back(infer(i));
      return a;
    }
    case ConfigValue::Kind::map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, e] : v.entries) o[k] = infer(e);
      return o;
    }
  }
  return nullptr;
}

nlohmann::json check(const ConfigValue& v, const Field& f, const std::string& path, const SchemaExtension& extra);

// A number below the field's minimum (or not above it) is refused, naming the key.
template <class T>
T bounded(T x, const ConfigValue& v, const Field& f, const std::string& path) {
  if (f.minimum && (f.minimum_exclusive ? !(static_cast<double>(x) > *f.minimum) : static_cast<double>(x) < *f.minimum)) {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", *f.minimum);
    fail(v.location, "key '" + path + "': must be " + (f.minimum_exclusive ? "above " : "at least ") + bound + ", got " +
                         v.scalar);
  }
  return x;
}

nlohmann::json check_scalar(const ConfigValue& v, const Field& f, const std::string& path) {
  auto wrong = [&]() -> nlohmann::json {
    std::string got = v.kind == ConfigValue::Kind::scalar ? "'" + v.scalar + "'"
                      : v.kind == ConfigValue::Kind::map  ? "a mapping"
                      : v.kind == ConfigValue::Kind::sequence ? "a list"
                                                              : "nothing";
    fail(v.location, "key '" + path + "': expected " + type_name(f.type) + ", got " + got);
  };
  if (v.kind != ConfigValue::Kind::scalar) return wrong();
  switch (f.type) {
    case Field::Type::string: {
      if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), v.scalar) == f.choices.end()) {
        std::string list;
        for (const auto& c : f.choices) list += (list.empty() ? "" : ", ") + c;
        fail(v.location, "key '" + path + "': expected one of " + list + ", got '" + v.scalar + "'");
      }
      return v.scalar;
    }
    case Field::Type::integer: {
      int64_t i;
      if (v.quoted || !parse_integer(v.scalar, i)) return wrong();
      return bounded(i, v, f, path);
    }
    case Field::Type::integer_or_auto: {
      if (v.scalar == "auto") return "auto";
      int64_t i;
      if (v.quoted || !parse_integer(v.scalar, i)) return wrong();
      return bounded(i, v, f, path);
    }
    case Field::Type::number: {
      double d;
      if (v.quoted || !parse_number(v.scalar, d)) return wrong();
      return bounded(d, v, f, path);
    }
    case Field::Type::boolean:
      if (!v.quoted && (v.scalar == "true" || v.scalar == "false")) return v.scalar == "true";
      return wrong();
    default:
      return wrong();
  }
}

nlohmann::json check_map(const ConfigValue& v, const Field& f, const std::string& path, const SchemaExtension& extra) {
  if (v.kind != ConfigValue::Kind::map && v.kind != ConfigValue::Kind::null)
    fail(v.location, "key '" + (path.empty() ? std::string("(top level)") : path) + "': expected a mapping");
  std::vector<Field> fields = f.children;
  if (extra) {
    const auto more = extra(path, v);
    fields.insert(fields.end(), more.begin(), more.end());
  }
  auto prefix = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
  nlohmann::json out = nlohmann::json::object();
  // Missing required keys first: with one missing (attack.name, say), the other keys cannot be
  // judged, and "unknown key" would mislead.
  for (const Field& c : fields)
    if (c.required && !v.find(c.name))
      fail(v.location, "missing required key '" + prefix(c.name) + "'" + (c.help.empty() ? "" : " (" + c.help + ")"));
  for (size_t i = 0; i < v.entries.size(); ++i) {
    const auto& [key, value] = v.entries[i];
    const auto it = std::find_if(fields.begin(), fields.end(), [&key = key](const Field& c) { return c.name == key; });
    if (it == fields.end()) {
      std::string names;
      for (const auto& c : fields) names += (names.empty() ? "" : ", ") + c.name;
      fail(v.key_locations[i], "unknown key '" + prefix(key) + "' (expected one of: " + names + ")");
    }
    out[key] = check(value, *it, prefix(key), extra);
  }
  for (const Field& c : fields) {
    if (out.contains(c.name)) continue;
    if (!c.default_yaml.empty()) {
      out[c.name] = check(parse_text(c.default_yaml, "(default of " + prefix(c.name) + ")"), c, prefix(c.name), extra);
    } else if (c.type == Field::Type::map &&
               std::none_of(c.children.begin(), c.children.end(), [](const Field& x) { return x.required; })) {
      out[c.name] = check_map(ConfigValue{}, c, prefix(c.name), extra);  // a section of defaults
    }
  }
  return out;
}

nlohmann::json check(const ConfigValue& v, const Field& f, const std::string& path, const SchemaExtension& extra) {
  switch (f.type) {
    case Field::Type::map:
      return check_map(v, f, path, extra);
    case Field::Type::any_map:
      if (v.kind != ConfigValue::Kind::map) fail(v.location, "key '" + path + "': expected a mapping");
      return infer(v);
    case Field::Type::map_list: {
      if (v.kind != ConfigValue::Kind::sequence) fail(v.location, "key '" + path + "': expected " + type_name(f.type));
      nlohmann::json a = nlohmann::json::array();
      for (size_t i = 0; i < v.items.size(); ++i) a.push_back(check_map(v.items[i], f, path + "[" + std::to_string(i) + "]", extra));
      return a;
    }
    case Field::Type::string_list:
    case Field::Type::integer_list: {
      if (v.kind != ConfigValue::Kind::sequence) fail(v.location, "key '" + path + "': expected " + type_name(f.type));
      nlohmann::json a = nlohmann::json::array();
      Field item = f;
      item.type = f.type == Field::Type::string_list ? Field::Type::string : Field::Type::integer;
      for (size_t i = 0; i < v.items.size(); ++i) a.push_back(check_scalar(v.items[i], item, path + "[" + std::to_string(i) + "]"));
      return a;
    }
    default:
      return check_scalar(v, f, path);
  }
}

void emit(YAML::Emitter& e, const nlohmann::json& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      e << YAML::Key << k << YAML::Value;
      emit(e, v);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : j) emit(e, v);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    e << j.get<std::string>();
  } else if (j.is_boolean()) {
    e << (j.get<bool>() ? "true" : "false");
  } else if (j.is_null()) {
    e << YAML::Null;
  } else {
    e << j.dump();
  }
}

}  // namespace

std::string Location::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const ConfigValue* ConfigValue::find(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

ConfigValue load_config(const std::filesystem::path& file, const std::vector<std::string>& sets) {
  ConfigValue v = load_chain(file);
  for (const auto& s : sets) apply_set(v, s);
  return v;
}

nlohmann::json validate_config(const ConfigValue& value, const Field& schema, const SchemaExtension& extra) {
  return check_map(value, schema, "", extra);
}

nlohmann::json apply_defaults(const nlohmann::json& given, const std::vector<Field>& fields, const std::string& where) {
  Field map;
  map.type = Field::Type::map;
  map.children = fields;
  // Round-trip through YAML text so that the same checks and defaults apply as for files.
  return check_map(parse_text(given.dump(), where), map, "", {});
}

std::string to_yaml(const nlohmann::json& resolved) {
  YAML::Emitter e;
  emit(e, resolved);
  return std::string(e.c_str()) + "\n";
}

std::string config_hash(const nlohmann::json& resolved) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char c : resolved.dump()) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace eidetic::harness
