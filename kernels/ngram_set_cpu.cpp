// kernels/ngram_set_cpu.cpp: the CPU n-gram set (the twin of ngram_set.cu), the choice between
// the two, and what a build without CUDA kernels answers about devices.
//
// The CPU set hashes each part on its own, so that the rolling update never runs across a
// boundary (cheaper than hashing the windows that callers skip, and the same bits for the
// others), and keeps its table in host memory.
#include <algorithm>
#include <string>

#include "common/error.h"
#include "kernels/ngram.h"
#include "kernels/ngram_set.h"

namespace eidetic::kernels {
namespace {

class CpuNgramSet final : public NgramSet {
 public:
  explicit CpuNgramSet(int64_t n) : NgramSet(n) {}

  std::vector<uint64_t> window_hashes(const std::vector<int64_t>& tokens,
                                      const std::vector<int64_t>& starts) const override {
    const int64_t L = static_cast<int64_t>(tokens.size());
    std::vector<uint64_t> out(static_cast<size_t>(L >= n_ ? L - n_ + 1 : 0));
    if (out.empty()) return out;
    for (size_t d = 0; d + 1 < starts.size(); ++d)
      ngram_hashes_cpu(tokens.data() + starts[d], starts[d + 1] - starts[d], n_, out.data() + starts[d]);
    return out;
  }

  void build(const std::vector<uint64_t>& keys) override {
    capacity_ = capacity_for(static_cast<int64_t>(keys.size()));
    table_.assign(static_cast<size_t>(capacity_), 0);
    hashset_insert_cpu(table_.data(), capacity_, keys.data(), static_cast<int64_t>(keys.size()));
  }

  std::vector<uint8_t> contains(const std::vector<uint64_t>& keys) const override {
    std::vector<uint8_t> found(keys.size(), 0);
    if (keys.empty() || capacity_ == 0) return found;
    static_assert(sizeof(bool) == sizeof(uint8_t));
    hashset_contains_cpu(table_.data(), capacity_, keys.data(), static_cast<int64_t>(keys.size()),
                         reinterpret_cast<bool*>(found.data()));
    return found;
  }

  std::string device() const override { return "cpu"; }

 private:
  std::vector<uint64_t> table_;  // (capacity_), empty slots 0
};

}  // namespace

int64_t NgramSet::capacity_for(int64_t keys) {
  const int64_t wanted = std::max<int64_t>(16, 2 * keys);
  int64_t p = 1;
  while (p < wanted) p <<= 1;
  return p;
}

std::unique_ptr<NgramSet> make_ngram_set(int64_t n, int cuda_device, int64_t device_chunk) {
  if (n < 1) throw Error("n-gram set: n must be at least 1, got " + std::to_string(n));
  if (device_chunk < 1) throw Error("n-gram set: device_chunk must be at least 1, got " + std::to_string(device_chunk));
  if (cuda_device < 0) return std::make_unique<CpuNgramSet>(n);
  const std::string asked = "n-gram set: device cuda:" + std::to_string(cuda_device) + " asked for, but ";
#if EIDETIC_WITH_CUDA
  // Checked before any call on the device, which would leave its error behind in the runtime.
  const int count = cuda_device_count();
  if (cuda_device >= count)
    throw Error(asked + (count == 0 ? std::string("no CUDA device is usable") : std::to_string(count) + " CUDA device(s) exist"));
  return make_cuda_ngram_set(n, cuda_device, device_chunk);
#else
  throw Error(asked + "this build has no CUDA kernels");
#endif
}

#if !EIDETIC_WITH_CUDA
int cuda_device_count() { return 0; }
int current_cuda_device() { return 0; }
#endif

}  // namespace eidetic::kernels
