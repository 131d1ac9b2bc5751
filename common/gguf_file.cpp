// common/gguf_file.cpp: see gguf_file.h. The checks are llama.cpp's (ggml/src/gguf.cpp): the
// same limits on strings and arrays, rejected types, alignment and dimension rules, and the
// tensor's byte range within the file.
#include "common/gguf_file.h"

#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "common/error.h"

namespace eidetic::gguf {
namespace {

// llama.cpp's limits (GGUF_MAX_STRING_LENGTH, GGUF_MAX_ARRAY_ELEMENTS, GGML_MAX_NAME,
// GGML_MAX_DIMS).
constexpr uint64_t kMaxString = uint64_t{1} << 30;
constexpr uint64_t kMaxArray = uint64_t{1} << 30;
constexpr uint64_t kMaxName = 64;
constexpr uint32_t kMaxDims = 4;

// Every ggml type id with its block layout (ggml.c's type_traits; gguf-py's GGML_QUANT_SIZES).
// Ids ggml has removed (4, 5: q4_2 and q4_3; 31..33 and 36..38: the repacked q4_0_4_4 ...
// iq4_nl_8_8 layouts, now chosen at run time) are absent, like the ids it never assigned.
struct TypeEntry {
  int32_t id;
  TypeLayout layout;
};
constexpr TypeEntry kTypes[] = {
    {0, {"f32", 1, 4}},        {1, {"f16", 1, 2}},         {2, {"q4_0", 32, 18}},     {3, {"q4_1", 32, 20}},
    {6, {"q5_0", 32, 22}},     {7, {"q5_1", 32, 24}},      {8, {"q8_0", 32, 34}},     {9, {"q8_1", 32, 40}},
    {10, {"q2_K", 256, 84}},   {11, {"q3_K", 256, 110}},   {12, {"q4_K", 256, 144}},  {13, {"q5_K", 256, 176}},
    {14, {"q6_K", 256, 210}},  {15, {"q8_K", 256, 292}},   {16, {"iq2_xxs", 256, 66}}, {17, {"iq2_xs", 256, 74}},
    {18, {"iq3_xxs", 256, 98}}, {19, {"iq1_s", 256, 50}},  {20, {"iq4_nl", 32, 18}},  {21, {"iq3_s", 256, 110}},
    {22, {"iq2_s", 256, 82}},  {23, {"iq4_xs", 256, 136}}, {24, {"i8", 1, 1}},        {25, {"i16", 1, 2}},
    {26, {"i32", 1, 4}},       {27, {"i64", 1, 8}},        {28, {"f64", 1, 8}},       {29, {"iq1_m", 256, 56}},
    {30, {"bf16", 1, 2}},      {34, {"tq1_0", 256, 54}},   {35, {"tq2_0", 256, 66}},  {39, {"mxfp4", 32, 17}},
    {40, {"nvfp4", 64, 36}},   {41, {"q1_0", 128, 18}},
};

uint64_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
    case ValueType::string: return 8;  // at least its length
    case ValueType::array: return 12;  // at least its element type and count
  }
  return 1;
}

// A cursor over the file's bytes; every read is bounded by what is left.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& name) : data_(data), size_(size), name_(name) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  [[noreturn]] void fail(const std::string& what) const { throw Error(name_ + ": " + what); }

  template <class T>
  T read(const std::string& what) {
    if (left() < sizeof(T))
      fail("truncated: " + what + " needs " + std::to_string(sizeof(T)) + " bytes at offset " + std::to_string(pos_) +
           ", the file ends at " + std::to_string(size_));
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string string(const std::string& what) {
    const uint64_t n = read<uint64_t>(what + "'s length");
    if (n > kMaxString) fail(what + " has length " + std::to_string(n) + ", above GGUF's limit of 2^30 bytes");
    if (n > left())
      fail("truncated: " + what + " has length " + std::to_string(n) + " but only " + std::to_string(left()) +
           " bytes are left");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& name_;
};

// A printable rendering of a name read from the file (errors stay one line).
std::string printable(const std::string& s) {
  std::string out = "'";
  for (const unsigned char c : s.substr(0, 80)) {
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

ValueType value_type(uint32_t raw, Cursor& in, const std::string& key) {
  if (raw > static_cast<uint32_t>(ValueType::f64))
    in.fail("key " + printable(key) + " has unknown value type " + std::to_string(raw) + " (GGUF defines 0..12)");
  return static_cast<ValueType>(raw);
}

double read_number(Cursor& in, ValueType t, const std::string& what) {
  switch (t) {
    case ValueType::u8: return in.read<uint8_t>(what);
    case ValueType::i8: return in.read<int8_t>(what);
    case ValueType::u16: return in.read<uint16_t>(what);
    case ValueType::i16: return in.read<int16_t>(what);
    case ValueType::u32: return in.read<uint32_t>(what);
    case ValueType::i32: return in.read<int32_t>(what);
    case ValueType::f32: return in.read<float>(what);
    case ValueType::boolean: return in.read<uint8_t>(what) != 0 ? 1.0 : 0.0;
    case ValueType::u64: return static_cast<double>(in.read<uint64_t>(what));
    case ValueType::i64: return static_cast<double>(in.read<int64_t>(what));
    case ValueType::f64: return in.read<double>(what);
    default: break;
  }
  in.fail(what + ": not a number type");
}

Value read_value(Cursor& in, ValueType t, const std::string& key) {
  Value v;
  v.type = t;
  const std::string what = "the value of key " + printable(key);
  switch (t) {
    case ValueType::u8: v.integer = in.read<uint8_t>(what); break;
    case ValueType::i8: v.integer = in.read<int8_t>(what); break;
    case ValueType::u16: v.integer = in.read<uint16_t>(what); break;
    case ValueType::i16: v.integer = in.read<int16_t>(what); break;
    case ValueType::u32: v.integer = in.read<uint32_t>(what); break;
    case ValueType::i32: v.integer = in.read<int32_t>(what); break;
    case ValueType::i64: v.integer = in.read<int64_t>(what); break;
    case ValueType::u64: {
      v.big = in.read<uint64_t>(what);
      v.integer = v.big > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? -1 : static_cast<int64_t>(v.big);
      break;
    }
    case ValueType::f32: v.real = in.read<float>(what); break;
    case ValueType::f64: v.real = in.read<double>(what); break;
    case ValueType::boolean: v.flag = in.read<uint8_t>(what) != 0; break;
    case ValueType::string: v.text = in.string(what); break;
    case ValueType::array: {
      v.element_type = value_type(in.read<uint32_t>(what + "'s element type"), in, key);
      if (v.element_type == ValueType::array) in.fail("key " + printable(key) + " is an array of arrays, which GGUF readers refuse");
      const uint64_t n = in.read<uint64_t>(what + "'s element count");
      if (n > kMaxArray) in.fail("key " + printable(key) + " has " + std::to_string(n) + " elements, above GGUF's limit of 2^30");
      // Bound the count by the bytes left before reserving anything.
      if (n > in.left() / scalar_size(v.element_type))
        in.fail("truncated: key " + printable(key) + " has " + std::to_string(n) + " elements but only " +
                std::to_string(in.left()) + " bytes are left");
      if (v.element_type == ValueType::string) {
        v.strings.reserve(static_cast<size_t>(n));
        for (uint64_t i = 0; i < n; ++i) v.strings.push_back(in.string("element " + std::to_string(i) + " of key " + printable(key)));
      } else {
        v.numbers.reserve(static_cast<size_t>(n));
        for (uint64_t i = 0; i < n; ++i) v.numbers.push_back(read_number(in, v.element_type, what));
      }
      break;
    }
  }
  return v;
}

uint64_t align_up(uint64_t x, uint64_t a) { return x + (a - x % a) % a; }

}  // namespace

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::u8: return "u8";
    case ValueType::i8: return "i8";
    case ValueType::u16: return "u16";
    case ValueType::i16: return "i16";
    case ValueType::u32: return "u32";
    case ValueType::i32: return "i32";
    case ValueType::f32: return "f32";
    case ValueType::boolean: return "bool";
    case ValueType::string: return "string";
    case ValueType::array: return "array";
    case ValueType::u64: return "u64";
    case ValueType::i64: return "i64";
    case ValueType::f64: return "f64";
  }
  return "?";
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::u8: case ValueType::i8: case ValueType::u16: case ValueType::i16:
    case ValueType::u32: case ValueType::i32: case ValueType::u64: case ValueType::i64: return true;
    default: return false;
  }
}

std::string Value::describe() const {
  if (type == ValueType::array) return std::string("array of ") + value_type_name(element_type);
  return value_type_name(type);
}

const TypeLayout* type_layout(int32_t type) {
  for (const TypeEntry& e : kTypes)
    if (e.id == type) return &e.layout;
  return nullptr;
}

File File::open(const std::filesystem::path& path) {
  auto mapping = MappedFile::open(path);
  File f = parse(mapping->data(), mapping->size(), path.string());
  f.mapping_ = std::move(mapping);
  return f;
}

File File::parse(const uint8_t* data, uint64_t size, const std::string& name) {
  File f;
  f.name_ = name;
  Cursor in(data, size, f.name_);
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) in.fail("not a GGUF file (it does not start with the bytes 'GGUF')");
  in.read<uint32_t>("magic");
  f.version_ = in.read<uint32_t>("the version");
  if ((f.version_ & 0xFFFFu) == 0)
    in.fail("GGUF version " + std::to_string(f.version_) + " reads as a big-endian file, which is not supported");
  if (f.version_ < 2 || f.version_ > 3)
    in.fail("GGUF version " + std::to_string(f.version_) + " is not supported (versions 2 and 3 are)");
  const uint64_t n_tensors = in.read<uint64_t>("the tensor count");
  const uint64_t n_kv = in.read<uint64_t>("the metadata count");
  // Each metadata entry takes at least 12 bytes (key length, value type) and each tensor info
  // at least 24: bound the counts by the file before reserving anything.
  if (n_kv > in.left() / 12)
    in.fail("the header claims " + std::to_string(n_kv) + " metadata entries, more than the file's " +
            std::to_string(size) + " bytes can hold");
  if (n_tensors > in.left() / 24)
    in.fail("the header claims " + std::to_string(n_tensors) + " tensors, more than the file's " +
            std::to_string(size) + " bytes can hold");

  f.metadata_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = in.string("the key of metadata entry " + std::to_string(i));
    if (key.empty()) in.fail("metadata entry " + std::to_string(i) + " has an empty key");
    const ValueType t = value_type(in.read<uint32_t>("the type of key " + printable(key)), in, key);
    Value v = read_value(in, t, key);
    if (f.key_index_.count(key)) in.fail("key " + printable(key) + " appears twice");
    f.key_index_[key] = f.metadata_.size();
    f.metadata_.emplace_back(std::move(key), std::move(v));
  }
  if (const Value* a = f.find("general.alignment")) {
    if (a->type != ValueType::u32)
      in.fail("key 'general.alignment' must be a u32, not " + a->describe());
    const uint64_t al = static_cast<uint64_t>(a->integer);
    if (al == 0 || (al & (al - 1)) != 0)
      in.fail("key 'general.alignment' is " + std::to_string(al) + ", not a power of two");
    f.alignment_ = al;
  }

  f.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = in.string("the name of tensor " + std::to_string(i));
    const std::string tname = "tensor " + printable(t.name);
    if (t.name.size() >= kMaxName)
      in.fail(tname + ": the name has " + std::to_string(t.name.size()) + " bytes; GGUF allows at most 63");
    if (f.tensor_index_.count(t.name)) in.fail(tname + " appears twice");
    const uint32_t n_dims = in.read<uint32_t>("the dimension count of " + tname);
    if (n_dims > kMaxDims) in.fail(tname + " has " + std::to_string(n_dims) + " dimensions; at most 4 are allowed");
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = in.read<uint64_t>("dimension " + std::to_string(d) + " of " + tname);
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        in.fail(tname + ": dimension " + std::to_string(d) + " is " + std::to_string(ne) + ", out of range");
      const int64_t n = static_cast<int64_t>(ne);
      if (n != 0 && elements > std::numeric_limits<int64_t>::max() / n)
        in.fail(tname + ": its element count overflows 64 bits");
      elements *= n;
      t.dims.push_back(n);
    }
    if (t.dims.empty()) t.dims.push_back(1);
    t.elements = elements;
    t.type = static_cast<int32_t>(in.read<uint32_t>("the type of " + tname));
    const TypeLayout* layout = type_layout(t.type);
    if (!layout) in.fail(tname + " has ggml type " + std::to_string(t.type) + ", which ggml does not define");
    if (t.dims[0] % layout->block_elems != 0)
      in.fail(tname + ": its rows of " + std::to_string(t.dims[0]) + " values are not whole " + layout->name +
              " blocks of " + std::to_string(layout->block_elems));
    // bytes = elements / block_elems * block_bytes, without overflow.
    const uint64_t blocks = static_cast<uint64_t>(elements / layout->block_elems);
    if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(layout->block_bytes))
      in.fail(tname + ": its byte size overflows 64 bits");
    t.bytes = blocks * static_cast<uint64_t>(layout->block_bytes);
    t.offset = in.read<uint64_t>("the offset of " + tname);
    f.tensor_index_[t.name] = f.tensors_.size();
    f.tensors_.push_back(std::move(t));
  }

  f.data_offset_ = align_up(in.pos(), f.alignment_);
  if (!f.tensors_.empty() && f.data_offset_ > size)
    in.fail("truncated: the tensor data section would start at byte " + std::to_string(f.data_offset_) +
            ", past the end of the file (" + std::to_string(size) + " bytes)");
  for (const TensorInfo& t : f.tensors_) {
    const std::string tname = "tensor " + printable(t.name);
    if (t.offset % f.alignment_ != 0)
      in.fail(tname + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
              std::to_string(f.alignment_));
    // data_offset + offset + bytes <= size, each step checked against what is left.
    const uint64_t room = size >= f.data_offset_ ? size - f.data_offset_ : 0;
    if (t.offset > room || t.bytes > room - t.offset)
      in.fail("truncated: " + tname + " (" + std::to_string(t.bytes) + " bytes at data offset " +
              std::to_string(t.offset) + ") ends past the end of the file (" + std::to_string(size) + " bytes)");
  }
  return f;
}

const TensorInfo* File::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t* File::tensor_data(const TensorInfo& info) const {
  if (!mapping_) throw Error(name_ + ": tensor data is only available from a mapped file");
  return mapping_->data() + data_offset_ + info.offset;
}

const Value* File::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

void File::fail_key(const std::string& key, const std::string& what) const {
  throw Error(name_ + ": key '" + key + "' " + what);
}

std::optional<uint64_t> File::optional_integer(const std::string& key, uint64_t max) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) fail_key(key, "must be an integer, not " + v->describe());
  if (v->type == ValueType::u64 ? v->big > max : (v->integer < 0 || static_cast<uint64_t>(v->integer) > max))
    fail_key(key, "is " + (v->type == ValueType::u64 ? std::to_string(v->big) : std::to_string(v->integer)) +
                      ", outside 0.." + std::to_string(max));
  return v->type == ValueType::u64 ? v->big : static_cast<uint64_t>(v->integer);
}

uint64_t File::integer(const std::string& key, uint64_t max) const {
  auto v = optional_integer(key, max);
  if (!v) fail_key(key, "is missing");
  return *v;
}

std::optional<double> File::optional_number(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_float()) return v->real;
  if (v->is_integer()) return v->type == ValueType::u64 ? static_cast<double>(v->big) : static_cast<double>(v->integer);
  fail_key(key, "must be a number, not " + v->describe());
}

std::optional<bool> File::optional_flag(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::boolean) fail_key(key, "must be a bool, not " + v->describe());
  return v->flag;
}

std::optional<std::string> File::optional_string(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != ValueType::string) fail_key(key, "must be a string, not " + v->describe());
  return v->text;
}

std::string File::string(const std::string& key) const {
  auto v = optional_string(key);
  if (!v) fail_key(key, "is missing");
  return *v;
}

const std::vector<std::string>& File::strings(const std::string& key) const {
  const Value* v = find(key);
  if (!v) fail_key(key, "is missing");
  if (v->type != ValueType::array || v->element_type != ValueType::string)
    fail_key(key, "must be an array of string, not " + v->describe());
  return v->strings;
}

const std::vector<double>* File::optional_numbers(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return nullptr;
  if (v->type != ValueType::array || v->element_type == ValueType::string)
    fail_key(key, "must be an array of numbers, not " + v->describe());
  return &v->numbers;
}

bool is_gguf(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.extension() == ".gguf") return true;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace eidetic::gguf
