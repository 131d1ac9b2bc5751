// common/gguf_file.h: the GGUF container (llama.cpp's model file format), versions 2 and 3.
//
// A GGUF file is a header (magic "GGUF", version, tensor count, metadata count), typed
// key/value metadata (integers, floats, bools, strings and arrays of them), one info record
// per tensor (name, up to 4 dimensions innermost first, ggml type, offset), zero padding up to
// the alignment (`general.alignment`, default 32), and the tensor data, each tensor at its
// offset from the start of that data section. This reader parses and checks all of it the way
// llama.cpp's gguf.cpp does: every count, length and offset against the bytes the file has and
// against overflow before anything is allocated, known value and tensor types, no duplicate
// keys or tensor names, aligned offsets, a tensor's bytes inside the file. A malformed file is
// an eidetic::Error of one line naming the file and the field.
//
// No tensor is read here: the model loader (models/gguf.h) dequantizes the data it needs, and
// the tokenizer reader (tokenizers/gguf_tokenizer.h) reads only the metadata.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mapped_file.h"

namespace eidetic::gguf {

// Metadata value types (GGUF's gguf_type).
enum class ValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
const char* value_type_name(ValueType t);

struct Value {
  ValueType type = ValueType::u8;
  // Scalars: an integer type fills `integer` (unsigned 64-bit values above INT64_MAX fill
  // `big` and set `integer` to -1), a float type `real`, bool `flag`, string `text`.
  int64_t integer = 0;
  uint64_t big = 0;
  double real = 0.0;
  bool flag = false;
  std::string text;
  // Arrays: the element type, and the elements as strings or as numbers (every integer and
  // float type but u64/i64 beyond 2^53 is exact in a double; bools are 0 and 1).
  ValueType element_type = ValueType::u8;
  std::vector<std::string> strings;
  std::vector<double> numbers;

  bool is_integer() const;
  bool is_float() const { return type == ValueType::f32 || type == ValueType::f64; }
  uint64_t array_size() const { return element_type == ValueType::string ? strings.size() : numbers.size(); }
  // "u32", "array of string", ... for error messages.
  std::string describe() const;
};

// One tensor's record. `dims` are GGUF's ne[]: dims[0] is the innermost (contiguous)
// dimension, so the row-major shape is dims reversed.
struct TensorInfo {
  std::string name;
  std::vector<int64_t> dims;
  int32_t type = 0;      // ggml type id
  uint64_t offset = 0;   // from the start of the data section
  uint64_t bytes = 0;    // dims[0] / block_elems * block_bytes * dims[1] * ...
  int64_t elements = 0;

  std::vector<int64_t> shape() const { return {dims.rbegin(), dims.rend()}; }
};

// A ggml type's block layout as GGUF files use it (every type ggml defines, including those no
// reader here dequantizes), or nullptr for an id ggml never assigned (or has removed).
struct TypeLayout {
  const char* name;  // ggml's name: "f32", "q4_1", "q4_K", "iq2_xxs", ...
  int64_t block_elems;
  int64_t block_bytes;
};
const TypeLayout* type_layout(int32_t type);

class File {
 public:
  // Maps the file and parses its header, metadata and tensor infos.
  static File open(const std::filesystem::path& path);
  // Parses a file's bytes held in memory (`name` is the file named in errors).
  static File parse(const uint8_t* data, uint64_t size, const std::string& name);

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute: where the data section begins
  // The mapping (null for File::parse).
  const std::shared_ptr<const MappedFile>& mapping() const { return mapping_; }

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* tensor(const std::string& name) const;
  // The tensor's bytes in the mapping (open() only; the range was checked at parse time).
  const uint8_t* tensor_data(const TensorInfo& info) const;

  // Metadata, in file order, and by key.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(const std::string& key) const;

  // Typed reads. Each throws eidetic::Error "FILE: key 'K' ..." when the key is missing (the
  // non-optional ones), has another type, or is out of range.
  uint64_t integer(const std::string& key, uint64_t max) const;  // any integer type, 0..max
  std::optional<uint64_t> optional_integer(const std::string& key, uint64_t max) const;
  std::optional<double> optional_number(const std::string& key) const;  // float or integer types
  std::optional<bool> optional_flag(const std::string& key) const;
  std::string string(const std::string& key) const;
  std::optional<std::string> optional_string(const std::string& key) const;
  const std::vector<std::string>& strings(const std::string& key) const;        // array of string
  const std::vector<double>* optional_numbers(const std::string& key) const;    // array of a number type

  [[noreturn]] void fail_key(const std::string& key, const std::string& what) const;

 private:
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::shared_ptr<const MappedFile> mapping_;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::map<std::string, size_t> key_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Whether `path` names a GGUF file: the extension .gguf, or a regular file starting with the
// magic "GGUF".
bool is_gguf(const std::filesystem::path& path);

}  // namespace eidetic::gguf
