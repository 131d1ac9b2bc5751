// corpus/npy.h: NumPy .npy arrays, the format the extraction challenge ships its prefixes and
// suffixes in, and the format of `eidetic score`'s input and output.
//
// Reading memory-maps the file and checks the header (magic, version 1.0/2.0/3.0, a dict with
// 'descr', 'fortran_order' and 'shape') against the file's size. Integer arrays (any width,
// either byte order) are read as int64 token ids; float32 arrays as float.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace eidetic::corpus {

struct NpyHeader {
  std::string descr;           // e.g. "<u2", "<i8", "<f4"
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;      // bytes from the start of the file to the data
  int64_t numel() const;
};

// Parses the header of an .npy file. Errors name the file and the problem.
NpyHeader read_npy_header(const std::filesystem::path& file);

// An integer array read as int64 values (C order), with its shape. Rejects floats, Fortran
// order and truncated files with a message naming the file.
struct TokenArray {
  std::vector<int64_t> shape;
  std::vector<int64_t> values;
  std::string descr;
};
TokenArray read_npy_tokens(const std::filesystem::path& file);

// Writes a float32 array (C order) as .npy version 1.0, atomically (temporary file + rename).
void write_npy_f32(const std::filesystem::path& file, const float* data, const std::vector<int64_t>& shape);
// Writes an integer array as .npy of dtype "<i8" (or "<u2"/"<i4" when asked), atomically.
void write_npy_i64(const std::filesystem::path& file, const int64_t* data, const std::vector<int64_t>& shape);

}  // namespace eidetic::corpus
