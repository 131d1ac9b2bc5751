// corpus/megatron.cpp: see megatron.h. The two files are mapped read-only with mmap; integers
// are read with memcpy because the index's arrays start at byte 34, which is not aligned.
#include "corpus/megatron.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "common/error.h"

namespace eidetic::corpus {
namespace {

constexpr char kMagic[9] = {'M', 'M', 'I', 'D', 'I', 'D', 'X', '\0', '\0'};
constexpr size_t kHeaderBytes = 9 + 8 + 1 + 8 + 8;  // magic, version, dtype, len, doc_count

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw Error(file.string() + ": " + what);
}

template <typename T>
T load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct DtypeInfo {
  const char* name;
  int64_t size;
};

// Integer dtypes by code; name nullptr for codes that are not token ids.
DtypeInfo dtype_info(int code) {
  switch (code) {
    case 1: return {"uint8", 1};
    case 2: return {"int8", 1};
    case 3: return {"int16", 2};
    case 4: return {"int32", 4};
    case 5: return {"int64", 8};
    case 8: return {"uint16", 2};
    default: return {nullptr, 0};
  }
}

}  // namespace

struct MegatronDataset::Mapping {
  const unsigned char* data = nullptr;
  size_t size = 0;

  explicit Mapping(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(file, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      fail(file, std::string("cannot stat: ") + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(file, "not a regular file");
    }
    size = static_cast<size_t>(st.st_size);
    if (size > 0) {
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        fail(file, std::string("cannot memory-map: ") + std::strerror(e));
      }
      data = static_cast<const unsigned char*>(p);
    }
    ::close(fd);  // the mapping keeps the file
  }
  ~Mapping() {
    if (data) ::munmap(const_cast<unsigned char*>(data), size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

MegatronDataset::MegatronDataset(const std::filesystem::path& path) {
  std::filesystem::path prefix = path;
  if (path.extension() == ".bin" || path.extension() == ".idx") prefix.replace_extension();
  idx_path_ = prefix.string() + ".idx";
  bin_path_ = prefix.string() + ".bin";
  for (const auto& f : {idx_path_, bin_path_})
    if (!std::filesystem::exists(f))
      fail(f, "file not found (a Megatron dataset is a pair PREFIX.idx + PREFIX.bin)");
  idx_ = std::make_shared<const Mapping>(idx_path_);

  const unsigned char* p = idx_->data;
  const size_t file_size = idx_->size;
  if (file_size < 9 || std::memcmp(p, kMagic, 9) != 0)
    fail(idx_path_, "not a Megatron index (bad magic; expected \"MMIDIDX\\x00\\x00\")");
  if (file_size < kHeaderBytes)
    fail(idx_path_, "truncated index: " + std::to_string(file_size) + " bytes, the header alone needs " +
                        std::to_string(kHeaderBytes));
  const uint64_t version = load<uint64_t>(p + 9);
  if (version != 1) fail(idx_path_, "unsupported index version " + std::to_string(version) + " (expected 1)");
  dtype_code_ = p[17];
  const DtypeInfo info = dtype_info(dtype_code_);
  if (dtype_code_ == 6 || dtype_code_ == 7)
    fail(idx_path_, "dtype code " + std::to_string(dtype_code_) +
                        " is a floating-point type; token ids must be integers");
  if (!info.name) fail(idx_path_, "unsupported dtype code " + std::to_string(dtype_code_));
  element_size_ = info.size;
  const uint64_t len = load<uint64_t>(p + 18);
  const uint64_t doc_count = load<uint64_t>(p + 26);
  // Each sequence needs 12 bytes (size + pointer), each doc_idx entry 8 (in 128 bits: no overflow).
  const unsigned __int128 need = kHeaderBytes + static_cast<unsigned __int128>(len) * 12 +
                                 static_cast<unsigned __int128>(doc_count) * 8;
  if (need > file_size)
    fail(idx_path_, "truncated index: " + std::to_string(len) + " sequences and " + std::to_string(doc_count) +
                        " doc_idx entries need " +
                        (need >> 64 ? std::string("more than 2^64") : std::to_string(static_cast<uint64_t>(need))) +
                        " bytes, the file has " + std::to_string(file_size));
  if (len > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail(idx_path_, "sequence count " + std::to_string(len) + " is too large");
  len_ = static_cast<int64_t>(len);
  sizes_offset_ = kHeaderBytes;
  pointers_offset_ = kHeaderBytes + 4 * len;
  doc_idx_.resize(doc_count);
  const unsigned char* d = p + pointers_offset_ + 8 * len;
  for (uint64_t k = 0; k < doc_count; ++k) doc_idx_[k] = load<int64_t>(d + 8 * k);

  bin_ = std::make_shared<const Mapping>(bin_path_);
}

int64_t MegatronDataset::size() const { return len_; }

void MegatronDataset::check_index(int64_t i) const {
  if (i < 0 || i >= len_)
    fail(idx_path_, "sequence " + std::to_string(i) + " is out of range (the dataset has " +
                        std::to_string(len_) + " sequences)");
}

int64_t MegatronDataset::length(int64_t i) const {
  check_index(i);
  const int32_t n = load<int32_t>(idx_->data + sizes_offset_ + 4 * static_cast<size_t>(i));
  if (n < 0) fail(idx_path_, "sequence " + std::to_string(i) + " has a negative size " + std::to_string(n));
  return n;
}

int64_t MegatronDataset::pointer(int64_t i) const {
  return load<int64_t>(idx_->data + pointers_offset_ + 8 * static_cast<size_t>(i));
}

std::vector<int64_t> MegatronDataset::sequence(int64_t i) const { return sequence(i, 0, length(i)); }

std::vector<int64_t> MegatronDataset::sequence(int64_t i, int64_t start, int64_t count) const {
  const int64_t n = length(i);
  if (start < 0 || count < 0 || start > n || count > n - start)
    fail(idx_path_, "tokens [" + std::to_string(start) + ", " + std::to_string(start) + "+" +
                        std::to_string(count) + ") are out of range for sequence " + std::to_string(i) +
                        " of " + std::to_string(n) + " tokens");
  const int64_t ptr = pointer(i);
  const uint64_t bin_size = bin_->size;
  // The whole sequence must lie inside the .bin, whatever slice is asked for.
  if (ptr < 0 || static_cast<uint64_t>(ptr) > bin_size ||
      static_cast<uint64_t>(n) * element_size_ > bin_size - static_cast<uint64_t>(ptr))
    fail(bin_path_, "sequence " + std::to_string(i) + " (" + std::to_string(n) + " tokens of " + dtype_name() +
                        " at byte " + std::to_string(ptr) + ") runs past the end of the file (" +
                        std::to_string(bin_size) + " bytes)");
  std::vector<int64_t> out(static_cast<size_t>(count));
  const unsigned char* src = bin_->data + ptr + start * element_size_;
  switch (dtype_code_) {
    case 1: for (int64_t k = 0; k < count; ++k) out[k] = load<uint8_t>(src + k); break;
    case 2: for (int64_t k = 0; k < count; ++k) out[k] = load<int8_t>(src + k); break;
    case 3: for (int64_t k = 0; k < count; ++k) out[k] = load<int16_t>(src + 2 * k); break;
    case 4: for (int64_t k = 0; k < count; ++k) out[k] = load<int32_t>(src + 4 * k); break;
    case 5: if (count) std::memcpy(out.data(), src, static_cast<size_t>(count) * 8); break;
    case 8: for (int64_t k = 0; k < count; ++k) out[k] = load<uint16_t>(src + 2 * k); break;
    default: break;  // rejected when opening
  }
  return out;
}

std::string MegatronDataset::dtype_name() const { return dtype_info(dtype_code_).name; }

int64_t MegatronDataset::element_size() const { return element_size_; }

const std::vector<int64_t>& MegatronDataset::doc_idx() const { return doc_idx_; }

int64_t MegatronDataset::total_tokens() const {
  int64_t total = 0;
  for (int64_t i = 0; i < len_; ++i) total += length(i);
  return total;
}

const std::filesystem::path& MegatronDataset::idx_path() const { return idx_path_; }
const std::filesystem::path& MegatronDataset::bin_path() const { return bin_path_; }

}  // namespace eidetic::corpus
