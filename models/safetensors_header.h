// models/safetensors_header.h: the safetensors header, parsed and checked without libtorch.
//
// A safetensors file is 8 bytes of little-endian header length N, N bytes of JSON naming each
// tensor's dtype, shape and [begin, end) byte range in the data that follows. This parser
// checks everything a reader relies on before it touches the data: the header fits the file,
// it is one JSON object with no name listed twice, every dtype is known, every shape's element
// count fits (no product can wrap), every range lies inside the data, holds exactly
// dtype x shape bytes and starts aligned to its elements, and the ranges tile the data (no
// overlap, no hole). read_safetensors (safetensors.h) builds tensors on what it returns; the
// fuzz target fuzz/safetensors_fuzz.cpp feeds it arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace eidetic::models {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;         // "F32", "BF16", ... as in the file
  int64_t element_size = 0;  // bytes per element
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data (after the header)
};

struct SafetensorsHeader {
  uint64_t data_start = 0;  // 8 + header length
  std::vector<SafetensorsEntry> tensors;  // in the header's order
  std::map<std::string, std::string> metadata;
};

// Bytes per element of a safetensors dtype name; 0 when Eidetic does not read that dtype.
int64_t safetensors_element_size(const std::string& dtype);

// Parses and checks the header of a file of `size` bytes starting at `bytes` (the whole file,
// or at least its header and the true file size). Throws eidetic::Error naming `file`.
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& file);

}  // namespace eidetic::models
