// models/safetensors.cpp: see safetensors.h.
#include "models/safetensors.h"

#include "models/safetensors_header.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/mapped_file.h"

namespace eidetic::models {
namespace {

using nlohmann::json;

at::ScalarType dtype_from_name(const std::string& name) {
  static const std::map<std::string, at::ScalarType> table = {
      {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16}, {"F64", at::kDouble}, {"I64", at::kLong},
      {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},       {"U8", at::kByte},    {"BOOL", at::kBool}};
  return table.at(name);  // parse_safetensors_header admits only these names
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
  const auto m = MappedFile::open(path);
  const uint8_t* bytes = m->data();
  const SafetensorsHeader header = parse_safetensors_header(bytes, m->size(), file);
  TensorSet set;
  set.metadata = header.metadata;
  for (const auto& e : header.tensors) {
    void* ptr = const_cast<uint8_t*>(bytes + header.data_start + e.begin);
    auto keep = m;
    set.tensors[e.name] = at::from_blob(
        ptr, e.shape, [keep](void*) mutable { keep.reset(); },
        at::TensorOptions().dtype(dtype_from_name(e.dtype)).device(at::kCPU));
    set.source[e.name] = file;
  }
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
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double
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
