// corpus/megatron.h: Megatron indexed datasets (MMapIndexedDataset: PREFIX.idx + PREFIX.bin),
// the format of Pythia's pre-shuffled Pile and of most GPT-NeoX / Megatron-LM training data.
//
// Extraction against a model trained on such a dataset needs the exact training sequences: the
// sequence the model saw at step s is a row of this file. Both files are memory-mapped, so a
// dataset of hundreds of gigabytes opens instantly and only the sequences read are paged in.
//
// The .idx, all little-endian:
//   magic     9 bytes "MMIDIDX\0\0"
//   version   uint64, 1
//   dtype     uint8 code: 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6/7 floating point
//             (rejected: token ids are integers), 8 uint16
//   len       uint64, the number of sequences
//   doc_count uint64, the length of doc_idx
//   sizes     int32[len], tokens per sequence
//   pointers  int64[len], byte offset of each sequence in the .bin
//   doc_idx   int64[doc_count], sequence numbers where documents start (plus the end)
// The .bin is the raw token array. The header and the array lengths are checked against the
// .idx's size when opening; each sequence's byte range is checked against the .bin's size when
// it is read (a check of all of them would page in the whole index of a large dataset).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace eidetic::corpus {

class MegatronDataset {
 public:
  // `path` is "PREFIX", "PREFIX.bin" or "PREFIX.idx". Errors (eidetic::Error) name the file
  // and the problem: a missing .idx or .bin, bad magic, an unsupported version or dtype code,
  // a truncated index.
  explicit MegatronDataset(const std::filesystem::path& path);

  int64_t size() const;              // number of sequences
  int64_t length(int64_t i) const;   // tokens in sequence i
  // Sequence i's tokens as int64 (an error when i is out of range or its bytes run past the
  // end of the .bin).
  std::vector<int64_t> sequence(int64_t i) const;
  // Tokens start .. start+count-1 of sequence i (an error when the slice is out of range).
  std::vector<int64_t> sequence(int64_t i, int64_t start, int64_t count) const;
  std::string dtype_name() const;    // "uint8", "int8", "int16", "int32", "int64", "uint16"
  int64_t element_size() const;      // bytes per token in the .bin
  const std::vector<int64_t>& doc_idx() const;
  int64_t total_tokens() const;      // sum of all lengths (reads the whole sizes array)
  const std::filesystem::path& idx_path() const;
  const std::filesystem::path& bin_path() const;

 private:
  struct Mapping;
  std::filesystem::path idx_path_, bin_path_;
  std::shared_ptr<const Mapping> idx_, bin_;
  int dtype_code_ = 0;
  int64_t element_size_ = 0;
  int64_t len_ = 0;
  size_t sizes_offset_ = 0, pointers_offset_ = 0;
  std::vector<int64_t> doc_idx_;

  void check_index(int64_t i) const;
  int64_t pointer(int64_t i) const;
};

}  // namespace eidetic::corpus
