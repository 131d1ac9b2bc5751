// models/safetensors.cpp: see safetensors.h.
#include "models/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "common/atomic_file.h"
#include "common/error.h"

namespace eidetic::models {
namespace {

using nlohmann::json;

struct Mapping {
  void* data = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (data && data != MAP_FAILED) munmap(data, size);
  }
};

std::shared_ptr<Mapping> map_file(const std::filesystem::path& path) {
  const std::string file = path.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(file + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(file + ": cannot stat (" + std::strerror(errno) + ")");
  }
  auto m = std::make_shared<Mapping>();
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    m->data = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m->data == MAP_FAILED) {
      ::close(fd);
      throw Error(file + ": cannot memory-map (" + std::strerror(errno) + ")");
    }
  }
  ::close(fd);
  return m;
}

struct DtypeInfo {
  at::ScalarType type;
  int64_t size;
};

bool dtype_from_name(const std::string& name, DtypeInfo& out) {
  static const std::map<std::string, DtypeInfo> table = {
      {"F32", {at::kFloat, 4}}, {"F16", {at::kHalf, 2}},  {"BF16", {at::kBFloat16, 2}},
      {"F64", {at::kDouble, 8}}, {"I64", {at::kLong, 8}}, {"I32", {at::kInt, 4}},
      {"I16", {at::kShort, 2}}, {"I8", {at::kChar, 1}},   {"U8", {at::kByte, 1}},
      {"BOOL", {at::kBool, 1}}};
  const auto it = table.find(name);
  if (it == table.end()) return false;
  out = it->second;
  return true;
}

std::string dtype_to_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kDouble: return "F64";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: throw Error(std::string("safetensors: cannot store dtype ") + c10::toString(t));
  }
}

}  // namespace

TensorSet read_safetensors(const std::filesystem::path& path) {
  const std::string file = path.string();
  if (!std::filesystem::exists(path)) throw Error(file + ": file not found");
  const auto m = map_file(path);
  if (m->size < 8) throw Error(file + ": truncated: " + std::to_string(m->size) + " bytes, too short for a safetensors header");
  const auto* bytes = static_cast<const uint8_t*>(m->data);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > m->size - 8)
    throw Error(file + ": truncated or corrupt: header length " + std::to_string(header_len) +
                " runs past the end of the file (" + std::to_string(m->size) + " bytes)");
  json header;
  std::set<std::string> names;  // a name twice would silently keep one of the two tensors
  std::string repeated;
  try {
    header = json::parse(reinterpret_cast<const char*>(bytes + 8), reinterpret_cast<const char*>(bytes + 8 + header_len),
                         [&](int depth, json::parse_event_t event, json& parsed) {
                           if (depth == 1 && event == json::parse_event_t::key && !names.insert(parsed.get<std::string>()).second)
                             repeated = parsed.get<std::string>();
                           return true;
                         });
  } catch (const json::parse_error& e) {
    throw Error(file + ": corrupt header: not valid JSON (" + e.what() + ")");
  }
  if (!repeated.empty()) throw Error(file + ": corrupt header: tensor '" + repeated + "' is listed twice");
  if (!header.is_object()) throw Error(file + ": corrupt header: expected a JSON object");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = m->size - data_start;

  TensorSet set;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> spans;  // (begin, end, name) of each tensor's bytes
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(file + ": corrupt header: __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw Error(file + ": corrupt header: __metadata__ '" + k + "' is not a string");
        set.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = file + ": tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      throw Error(where + " lacks dtype, shape or data_offsets");
    DtypeInfo dt{};
    if (!entry["dtype"].is_string() || !dtype_from_name(entry["dtype"].get<std::string>(), dt))
      throw Error(where + " has unsupported dtype " + entry["dtype"].dump());
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    if (!entry["shape"].is_array()) throw Error(where + " has a malformed shape");
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 48))
        throw Error(where + " has a malformed shape " + entry["shape"].dump());
      shape.push_back(d.get<int64_t>());
      if (__builtin_mul_overflow(numel, d.get<uint64_t>(), &numel) || numel > (uint64_t{1} << 56))
        throw Error(where + " has shape " + entry["shape"].dump() + ", more elements than can be addressed");
    }
    const auto& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where + " has malformed data_offsets " + off.dump());
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end) throw Error(where + " has data_offsets " + off.dump() + " that run backwards");
    if (end > data_size)
      throw Error(file + ": truncated or corrupt: tensor '" + name + "' ends at byte " +
                  std::to_string(data_start + end) + " but the file has " + std::to_string(m->size) + " bytes");
    if (end - begin != numel * static_cast<uint64_t>(dt.size))
      throw Error(where + " holds " + std::to_string(end - begin) + " bytes but shape " +
                  entry["shape"].dump() + " of " + entry["dtype"].get<std::string>() + " needs " +
                  std::to_string(numel * dt.size));
    if ((data_start + begin) % static_cast<uint64_t>(dt.size) != 0)
      throw Error(where + " starts at byte " + std::to_string(data_start + begin) + ", not aligned to its " +
                  std::to_string(dt.size) + "-byte elements");
    spans.emplace_back(begin, end, name);
    void* ptr = const_cast<uint8_t*>(bytes + data_start + begin);
    auto keep = m;
    set.tensors[name] = at::from_blob(
        ptr, shape, [keep](void*) mutable { keep.reset(); },
        at::TensorOptions().dtype(dt.type).device(at::kCPU));
    set.source[name] = file;
  }
  // The tensors tile the data: no overlap (two tensors sharing bytes) and no hole (bytes no
  // tensor owns), as the format requires.
  std::sort(spans.begin(), spans.end());
  uint64_t covered = 0;
  for (const auto& [begin, end, name] : spans) {
    if (begin < covered) throw Error(file + ": corrupt header: tensor '" + name + "' overlaps the tensor before it");
    if (begin > covered)
      throw Error(file + ": corrupt header: bytes " + std::to_string(covered) + ".." + std::to_string(begin) +
                  " of the data belong to no tensor (before '" + name + "')");
    covered = end;
  }
  if (covered != data_size)
    throw Error(file + ": corrupt header: the last " + std::to_string(data_size - covered) + " data bytes belong to no tensor");
  return set;
}

TensorSet read_safetensors_folder(const std::filesystem::path& folder) {
  const auto single = folder / "model.safetensors";
  const auto index = folder / "model.safetensors.index.json";
  if (std::filesystem::exists(single)) return read_safetensors(single);
  if (!std::filesystem::exists(index)) {
    if (std::filesystem::exists(folder / "pytorch_model.bin"))
      throw Error(folder.string() + ": holds only pytorch_model.bin; Eidetic reads safetensors. "
                  "Convert it, e.g. in Python: `from transformers import AutoModelForCausalLM; "
                  "AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)`");
    throw Error(folder.string() + ": no model.safetensors or model.safetensors.index.json");
  }
  std::ifstream in(index);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(index.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(index.string() + ": no weight_map object");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : j["weight_map"].items()) {
    if (!shard.is_string()) throw Error(index.string() + ": weight_map entry '" + name + "' is not a file name");
    by_shard[shard.get<std::string>()].push_back(name);
  }
  TensorSet all;
  for (const auto& [shard, names] : by_shard) {
    TensorSet part = read_safetensors(folder / shard);
    for (const auto& name : names) {
      if (!part.has(name))
        throw Error((folder / shard).string() + ": tensor '" + name + "' listed in " +
                    index.filename().string() + " is not in the shard");
      all.tensors[name] = part.tensors[name];
      all.source[name] = part.source[name];
    }
    all.metadata.insert(part.metadata.begin(), part.metadata.end());
  }
  return all;
}

void write_safetensors(const std::filesystem::path& file,
                       const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  // Wider elements first (then by name), as the reference writer orders them: with the data
  // starting at a multiple of 8, every tensor then starts aligned to its element size.
  std::vector<std::pair<std::string, at::Tensor>> ordered(tensors.begin(), tensors.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.second.element_size() > b.second.element_size(); });
  for (const auto& [name, t] : ordered) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const uint64_t n = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", dtype_to_name(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
    data.push_back(c);
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');  // align the data to 8 bytes
  AtomicFile out(file);  // a checkpoint is never torn: the old one or the new one
  uint64_t len = h.size();
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(len >> (8 * i));
  out.write(le, 8);
  out.write(h);
  for (const auto& c : data) out.write(c.const_data_ptr(), static_cast<size_t>(c.numel() * c.element_size()));
  out.commit();
}

}  // namespace eidetic::models
