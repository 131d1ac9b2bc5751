// corpus/npy.cpp: see npy.h.
#include "corpus/npy.h"

#include <cstring>
#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace eidetic::corpus {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw Error(file.string() + ": " + what);
}

std::string header_text(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";  // a 1-tuple, as Python writes it
  std::string s = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so that magic + lengths + header is a multiple of 64, ending in '\n'.
  const size_t total = 10 + s.size() + 1;
  s.append((64 - total % 64) % 64, ' ');
  s += '\n';
  return s;
}

void write_npy(const std::filesystem::path& file, const std::string& descr, const void* data, size_t bytes,
               const std::vector<int64_t>& shape) {
  const std::string header = header_text(descr, shape);
  AtomicFile out(file);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(le, 2);
  out.write(header);
  out.write(data, bytes);
  out.commit();
}

}  // namespace

int64_t NpyHeader::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyHeader read_npy_header(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, std::filesystem::exists(file) ? "cannot open" : "file not found");
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) fail(file, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  size_t header_len = 0;
  if (major == 1) {
    unsigned char l[2];
    in.read(reinterpret_cast<char*>(l), 2);
    header_len = l[0] | (l[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char l[4];
    in.read(reinterpret_cast<char*>(l), 4);
    header_len = l[0] | (l[1] << 8) | (l[2] << 16) | (static_cast<size_t>(l[3]) << 24);
  } else {
    fail(file, "unsupported .npy version " + std::to_string(major));
  }
  // The header is a short Python dict (NumPy pads it to 64 bytes; a few KB for a huge shape):
  // anything longer than the file itself or than 1 MiB is not one.
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(file, ec);
  if (ec || header_len > file_size || header_len > (size_t{1} << 20))
    fail(file, "truncated or corrupt .npy header: it claims " + std::to_string(header_len) + " bytes");
  std::string text(header_len, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_len));
  if (!in) fail(file, "truncated .npy header");
  NpyHeader h;
  h.data_offset = (major == 1 ? 10 : 12) + header_len;
  // The dict's three keys, found by plain search (std::regex recurses once per character and
  // overflows the stack on a long header): 'descr': '<i8', 'fortran_order': False,
  // 'shape': (3, 4).
  auto value_of = [&](const std::string& key) -> size_t {  // where the key's value starts, or npos
    const size_t at = text.find("'" + key + "'");
    if (at == std::string::npos) return std::string::npos;
    size_t i = text.find_first_not_of(" \t", at + key.size() + 2);
    if (i == std::string::npos || text[i] != ':') return std::string::npos;
    i = text.find_first_not_of(" \t", i + 1);
    return i;
  };
  size_t v = value_of("descr");
  const size_t descr_end = v == std::string::npos || text[v] != '\'' ? std::string::npos : text.find('\'', v + 1);
  if (descr_end == std::string::npos) fail(file, "malformed .npy header (no descr)");
  h.descr = text.substr(v + 1, descr_end - v - 1);
  v = value_of("fortran_order");
  if (v != std::string::npos && text.compare(v, 4, "True") == 0) h.fortran_order = true;
  else if (v != std::string::npos && text.compare(v, 5, "False") == 0) h.fortran_order = false;
  else fail(file, "malformed .npy header (no fortran_order)");
  v = value_of("shape");
  const size_t shape_end = v == std::string::npos || text[v] != '(' ? std::string::npos : text.find(')', v + 1);
  if (shape_end == std::string::npos) fail(file, "malformed .npy header (no shape)");
  // The shape: comma-separated non-negative integers (a trailing comma for a 1-tuple), each
  // and their product small enough to address.
  const std::string dims = text.substr(v + 1, shape_end - v - 1);
  size_t start = 0;
  int64_t product = 1;
  while (start <= dims.size()) {
    const size_t comma = dims.find(',', start);
    std::string d = dims.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    d.erase(0, d.find_first_not_of(" \t"));
    d.erase(d.find_last_not_of(" \t") + 1);
    const bool last = comma == std::string::npos;
    if (d.empty() && last && !h.shape.empty()) break;  // "(3,)" or "(3, 4,)"
    if (d.empty() && last && dims.find_first_not_of(" \t") == std::string::npos) break;  // "()": a scalar
    if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos || d.size() > 18)
      fail(file, "malformed .npy header: shape dimension '" + d + "' is not a non-negative integer below 10^18");
    const int64_t v = std::stoll(d);
    if (__builtin_mul_overflow(product, v, &product) || product > (int64_t{1} << 56))
      fail(file, "shape (" + dims + ") has more elements than can be addressed");
    h.shape.push_back(v);
    if (last) break;
    start = comma + 1;
  }
  return h;
}

TokenArray read_npy_tokens(const std::filesystem::path& file) {
  const NpyHeader h = read_npy_header(file);
  if (h.fortran_order) fail(file, "array is in Fortran order; save it in C order (np.ascontiguousarray)");
  const std::string& d = h.descr;
  if (d.size() < 3 || (d[1] != 'i' && d[1] != 'u'))
    fail(file, "holds dtype '" + d + "'; token ids must be an integer array (uint16, int32, int64, ...)");
  const char order = d[0];
  const bool is_signed = d[1] == 'i';
  const std::string w = d.substr(2);
  if (w != "1" && w != "2" && w != "4" && w != "8") fail(file, "unsupported integer width in dtype '" + d + "'");
  const int width = w[0] - '0';
  if (order == '>' && width > 1) fail(file, "big-endian dtype '" + d + "' is not supported; convert with astype('<" + d.substr(1) + "')");
  const auto file_size = std::filesystem::file_size(file);
  const uint64_t need = h.data_offset + static_cast<uint64_t>(h.numel()) * static_cast<uint64_t>(width);  // numel < 2^56
  if (file_size < need)
    fail(file, "truncated: shape needs " + std::to_string(need) + " bytes, the file has " + std::to_string(file_size));
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  std::vector<unsigned char> raw(static_cast<size_t>(h.numel()) * width);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  TokenArray a;
  a.shape = h.shape;
  a.descr = d;
  a.values.resize(static_cast<size_t>(h.numel()));
  for (size_t i = 0; i < a.values.size(); ++i) {
    uint64_t u = 0;
    for (int b = width - 1; b >= 0; --b) u = (u << 8) | raw[i * width + b];
    if (!is_signed && width == 8 && u > static_cast<uint64_t>(INT64_MAX))
      fail(file, "element " + std::to_string(i) + " is " + std::to_string(u) + ", too large for a token id");
    int64_t v = static_cast<int64_t>(u);
    if (is_signed && width < 8 && (u >> (8 * width - 1)) & 1) v -= static_cast<int64_t>(1) << (8 * width);
    a.values[i] = v;
  }
  return a;
}

void write_npy_f32(const std::filesystem::path& file, const float* data, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  write_npy(file, "<f4", data, static_cast<size_t>(n) * 4, shape);
}

void write_npy_i64(const std::filesystem::path& file, const int64_t* data, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  write_npy(file, "<i8", data, static_cast<size_t>(n) * 8, shape);
}

}  // namespace eidetic::corpus
