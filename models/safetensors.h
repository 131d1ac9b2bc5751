// models/safetensors.h: reading (memory-mapped) and writing the safetensors format.
//
// A safetensors file is 8 bytes of little-endian header length N, N bytes of JSON naming each
// tensor's dtype, shape and [begin, end) byte range in the data that follows. We map the file,
// check every range against the file's size and every size against dtype x shape, and hand out
// CPU tensors that view the mapping (the mapping lives as long as any of them).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace eidetic::models {

// Named tensors with the file each came from (for error messages).
struct TensorSet {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::string> source;  // tensor name -> file path
  std::map<std::string, std::string> metadata;  // the files' __metadata__, merged

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
};

// One file. Throws eidetic::Error naming the file for truncated, corrupt or inconsistent files.
TensorSet read_safetensors(const std::filesystem::path& file);

// A model folder: model.safetensors, or the shards listed by model.safetensors.index.json.
TensorSet read_safetensors_folder(const std::filesystem::path& folder);

// Writes tensors (any device; stored as they are: float32, float16, bfloat16, int64, int32,
// uint8, bool) to `file` atomically (a temporary file renamed into place).
void write_safetensors(const std::filesystem::path& file,
                       const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace eidetic::models
