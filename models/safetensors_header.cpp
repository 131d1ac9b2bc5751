// models/safetensors_header.cpp: see safetensors_header.h.
#include "models/safetensors_header.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "common/error.h"

namespace eidetic::models {

using nlohmann::json;

int64_t safetensors_element_size(const std::string& dtype) {
  static const std::map<std::string, int64_t> sizes = {
      {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& file) {
  if (size < 8) throw Error(file + ": truncated: " + std::to_string(size) + " bytes, too short for a safetensors header");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > size - 8)
    throw Error(file + ": truncated or corrupt: header length " + std::to_string(header_len) +
                " runs past the end of the file (" + std::to_string(size) + " bytes)");
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
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double
    throw Error(file + ": corrupt header: not valid JSON (" + e.what() + ")");
  }
  if (!repeated.empty()) throw Error(file + ": corrupt header: tensor '" + repeated + "' is listed twice");
  if (!header.is_object()) throw Error(file + ": corrupt header: expected a JSON object");

  SafetensorsHeader out;
  out.data_start = 8 + header_len;
  const uint64_t data_size = size - out.data_start;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> spans;  // (begin, end, name) of each tensor's bytes
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(file + ": corrupt header: __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw Error(file + ": corrupt header: __metadata__ '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = file + ": tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      throw Error(where + " lacks dtype, shape or data_offsets");
    SafetensorsEntry e;
    e.name = name;
    if (entry["dtype"].is_string()) e.dtype = entry["dtype"].get<std::string>();
    e.element_size = safetensors_element_size(e.dtype);
    if (e.element_size == 0) throw Error(where + " has unsupported dtype " + entry["dtype"].dump());
    uint64_t numel = 1;
    if (!entry["shape"].is_array()) throw Error(where + " has a malformed shape");
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 48))
        throw Error(where + " has a malformed shape " + entry["shape"].dump());
      e.shape.push_back(d.get<int64_t>());
      if (__builtin_mul_overflow(numel, d.get<uint64_t>(), &numel) || numel > (uint64_t{1} << 56))
        throw Error(where + " has shape " + entry["shape"].dump() + ", more elements than can be addressed");
    }
    const auto& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where + " has malformed data_offsets " + off.dump());
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end) throw Error(where + " has data_offsets " + off.dump() + " that run backwards");
    if (e.end > data_size)
      throw Error(file + ": truncated or corrupt: tensor '" + name + "' ends at byte " +
                  std::to_string(out.data_start + e.end) + " but the file has " + std::to_string(size) + " bytes");
    // numel <= 2^56 and element_size <= 8: the product cannot wrap.
    const uint64_t needed = numel * static_cast<uint64_t>(e.element_size);
    if (e.end - e.begin != needed)
      throw Error(where + " holds " + std::to_string(e.end - e.begin) + " bytes but shape " +
                  entry["shape"].dump() + " of " + e.dtype + " needs " + std::to_string(needed));
    if ((out.data_start + e.begin) % static_cast<uint64_t>(e.element_size) != 0)
      throw Error(where + " starts at byte " + std::to_string(out.data_start + e.begin) + ", not aligned to its " +
                  std::to_string(e.element_size) + "-byte elements");
    spans.emplace_back(e.begin, e.end, name);
    out.tensors.push_back(std::move(e));
  }
  // The tensors tile the data: no overlap (two tensors sharing bytes) and no hole (bytes no
  // tensor owns), as the format requires. Empty tensors occupy no bytes and may sit anywhere
  // a tensor boundary is.
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
  return out;
}

}  // namespace eidetic::models
