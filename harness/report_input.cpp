// harness/report_input.cpp: see report_input.h.
#include "harness/report_input.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "harness/svg_plot.h"

namespace eidetic::harness::report {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be opened for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json read_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(path.string() + ": not found (a run directory written by `eidetic run` holds manifest.json and metrics.json)");
  try {
    json j = json::parse(read_text(path));
    if (!j.is_object()) throw Error(path.string() + ": expected a JSON object, found " + std::string(j.type_name()));
    return j;
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + json_message(e));
  }
}

// A config entry that may be a string or an object naming a path or name.
std::string name_in_config(const json& config, const char* key) {
  const json* v = member(config, key);
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  for (const char* k : {"path", "name", "kind", "type"})
    if (const json* n = member(*v, k); n && n->is_string()) return n->get<std::string>();
  return "";
}

void check_tables(const json& tables, const std::string& where) {
  if (!tables.is_array()) throw Error(where + "\"tables\" must be an array");
  for (size_t i = 0; i < tables.size(); ++i) {
    const json& t = tables[i];
    const std::string at = where + "tables[" + std::to_string(i) + "]: ";
    if (!t.is_object()) throw Error(at + "expected an object");
    const json* cols = member(t, "columns");
    if (!cols || !cols->is_array()) throw Error(at + "expected a \"columns\" array");
    const json* rows = member(t, "rows");
    if (rows && !rows->is_array()) throw Error(at + "\"rows\" must be an array of arrays");
    if (rows)
      for (size_t r = 0; r < rows->size(); ++r)
        if (!(*rows)[r].is_array()) throw Error(at + "rows[" + std::to_string(r) + "] must be an array");
    if (const json* note = member(t, "note"); note && !note->is_string()) throw Error(at + "\"note\" must be a string");
  }
}

void check_metrics_schema(const json& m, const fs::path& path) {
  const std::string where = path.string() + ": ";
  const json* metrics = member(m, "metrics");
  if (!metrics || !metrics->is_array()) throw Error(where + "expected a \"metrics\" array");
  for (size_t i = 0; i < metrics->size(); ++i) {
    const json& e = (*metrics)[i];
    const std::string at = where + "metrics[" + std::to_string(i) + "]: ";
    if (!e.is_object()) throw Error(at + "expected an object");
    if (!member(e, "name") || !e["name"].is_string()) throw Error(at + "expected a string \"name\"");
    for (const char* k : {"value", "ci_low", "ci_high", "n"})
      if (const json* v = member(e, k); v && !v->is_number())
        throw Error(at + "\"" + k + "\" must be a number, found " + v->dump());
  }
  if (const json* tables = member(m, "tables")) check_tables(*tables, where);
  if (const json* plots = member(m, "plots")) {
    if (!plots->is_array()) throw Error(where + "\"plots\" must be an array");
    for (size_t i = 0; i < plots->size(); ++i)
      if (!(*plots)[i].is_object()) throw Error(where + "plots[" + std::to_string(i) + "]: expected an object");
  }
  if (const json* profile = member(m, "profile"); profile && !profile->is_object())
    throw Error(where + "\"profile\" must be an object");
  if (const json* run = member(m, "run"); run && !run->is_object()) throw Error(where + "\"run\" must be an object");
}

}  // namespace

std::string json_message(const std::exception& e) {
  std::string m = e.what();
  if (m.rfind("[json.exception.", 0) == 0) {
    const size_t close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  return m;
}

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string text_of(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number()) return format_number(v.get<double>());
  return v.dump();
}

std::string str(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v ? text_of(*v) : std::string();
}

double num(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v && v->is_number() ? v->get<double>() : std::nan("");
}

MetricText metric_text(const json& m) {
  MetricText t;
  t.name = m["name"].get<std::string>();
  t.value = member(m, "value") ? format_number(m["value"].get<double>()) : "";
  const double lo = num(m, "ci_low"), hi = num(m, "ci_high");
  if (std::isfinite(lo) || std::isfinite(hi)) t.ci = "[" + format_number(lo) + ", " + format_number(hi) + "]";
  t.n = str(m, "n");
  t.description = str(m, "description");
  return t;
}

std::string short_commit(const std::string& commit) {
  if (commit.empty()) return "";
  const bool dirty = commit.size() > 6 && commit.compare(commit.size() - 6, 6, "-dirty") == 0;
  const std::string base = dirty ? commit.substr(0, commit.size() - 6) : commit;
  return base.substr(0, std::min<size_t>(7, base.size())) + (dirty ? "-dirty" : "");
}

std::string short_model(const std::string& model) {
  std::string m = model;
  while (m.size() > 1 && (m.back() == '/' || m.back() == '\\')) m.pop_back();
  const size_t slash = m.find_last_of("/\\");
  return slash == std::string::npos ? m : m.substr(slash + 1);
}

std::string dir_name(const fs::path& dir) {
  fs::path p = dir;
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

Run load_run(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": not a directory (expected a run directory written by `eidetic run`)");
  Run r;
  r.dir = dir;
  r.manifest_path = dir / "manifest.json";
  r.metrics_path = dir / "metrics.json";
  r.manifest = read_json_file(r.manifest_path);
  r.metrics = read_json_file(r.metrics_path);
  check_metrics_schema(r.metrics, r.metrics_path);
  const json empty = json::object();
  const json& run = member(r.metrics, "run") ? r.metrics["run"] : empty;
  const json& config = member(r.manifest, "config") ? r.manifest["config"] : empty;
  r.name = str(run, "name");
  if (r.name.empty()) r.name = str(config, "name");
  if (r.name.empty()) r.name = dir_name(dir);
  r.model = str(run, "model");
  if (r.model.empty()) r.model = name_in_config(config, "model");
  r.attack = str(run, "attack");
  if (r.attack.empty()) r.attack = name_in_config(config, "attack");
  r.device = str(r.manifest, "device");
  if (r.device.empty() && member(r.metrics, "profile")) r.device = str(r.metrics["profile"], "device");
  r.commit = str(r.manifest, "git_commit");
  r.label = r.name;
  return r;
}

}  // namespace eidetic::harness::report
