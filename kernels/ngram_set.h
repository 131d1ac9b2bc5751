// kernels/ngram_set.h: the n-gram hash set behind one host API, on the CPU or on a CUDA device.
//
// The corpus n-gram index (corpus/ngram_index.h) needs three things done in bulk: the hashes
// of every n-token window of a long token array, a set built from the distinct hashes of the
// corpus, and the membership of every hash of a query. The kernels for them (kernels/ngram.h)
// take device pointers and a stream; this class owns what they need around them (the device
// the set lives on, its stream, the table in device memory, the copies to and from the host,
// passes of bounded size) so that its user deals in host vectors only and never sees CUDA.
//
// Two implementations with the same answers: the CPU one (ngram_set_cpu.cpp) runs the kernels'
// CPU twins, the CUDA one (ngram_set.cu) runs the kernels on its device. Hashes are the same bits
// on both (the window hash is defined once, in kernels/ngram.h); the table's layout may differ
// (the device insert's slots depend on thread order), but the keys it holds do not, so every
// membership answer is the same.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace eidetic::kernels {

// The CUDA devices this process can use: 0 in a build without CUDA kernels, and 0 (not an
// error) when the machine has no device or no driver.
int cuda_device_count();
// The calling thread's current CUDA device; 0 in a build without CUDA kernels.
int current_cuda_device();

// Windows (or keys) per device pass by default: tokens and hashes, 16 bytes each, 1 GiB a pass.
constexpr int64_t kNgramDeviceChunk = int64_t{1} << 26;

class NgramSet {
 public:
  virtual ~NgramSet() = default;
  NgramSet(const NgramSet&) = delete;
  NgramSet& operator=(const NgramSet&) = delete;

  // Hashes of the windows of n tokens of `tokens`: parts laid end to end, part d beginning at
  // starts[d] (parts + 1 offsets, the last one tokens.size()). out[i] = ngram_hash(tokens + i, n)
  // for every window that lies inside one part; what stands at a window that crosses a boundary
  // differs between the implementations, so callers skip those. max(0, size - n + 1) values.
  virtual std::vector<uint64_t> window_hashes(const std::vector<int64_t>& tokens,
                                              const std::vector<int64_t>& starts) const = 0;

  // Makes the set hold exactly `keys` (distinct keys; a duplicate only costs a slot): a table
  // of capacity_for(keys.size()) slots, so at most half full and probe runs stay short.
  virtual void build(const std::vector<uint64_t>& keys) = 0;

  // found[i] = 1 when keys[i] is in the set (key 0 is the same key as 1; see kernels/ngram.h).
  // Before build() the set is empty.
  virtual std::vector<uint8_t> contains(const std::vector<uint64_t>& keys) const = 0;

  // "cpu" or "cuda:K".
  virtual std::string device() const = 0;

  int64_t n() const { return n_; }
  int64_t capacity() const { return capacity_; }  // slots in the table (0 before build)
  int64_t table_bytes() const { return capacity_ * static_cast<int64_t>(sizeof(uint64_t)); }

  // Table slots for `keys` distinct keys: the smallest power of two >= max(16, 2 * keys).
  static int64_t capacity_for(int64_t keys);

 protected:
  explicit NgramSet(int64_t n) : n_(n) {}
  int64_t n_;
  int64_t capacity_ = 0;
};

// A set for windows of n tokens (n >= 1) on the CPU (`cuda_device` < 0) or on CUDA device
// `cuda_device`, which must exist. `device_chunk` bounds the windows or keys of one device pass
// (device memory per pass is 16 bytes a window); the CPU set ignores it. Asking for a CUDA
// device in a build without CUDA kernels is an error.
std::unique_ptr<NgramSet> make_ngram_set(int64_t n, int cuda_device = -1,
                                         int64_t device_chunk = kNgramDeviceChunk);

#if EIDETIC_WITH_CUDA
// The CUDA implementation (ngram_set.cu); make_ngram_set picks it for a device.
std::unique_ptr<NgramSet> make_cuda_ngram_set(int64_t n, int cuda_device, int64_t device_chunk);
#endif

}  // namespace eidetic::kernels
