// kernels/ngram.cu: window hashes and the open-addressing hash set on the device.
//
// Hashes: each thread owns a run of kRun consecutive windows. It computes the first window's
// polynomial directly (n loads) and rolls it forward for the others (one subtraction, one
// multiplication, one addition each), so a window costs about (n + kRun) / kRun loads instead
// of n. The rolling update is exact mod 2^64, so the bits equal the twin's whatever the run
// boundaries are.
//
// Hash set: one thread per key, grid-stride. Insert claims an empty slot with atomicCAS and
// stops when the slot holds its key (inserted by itself or by another thread with the same
// key); contains walks the probe sequence until the key or an empty slot. Keys are only ever
// added, never moved, so a probe sequence that reaches an empty slot cannot have the key beyond.
#include "kernels/cuda_check.h"
#include "kernels/ngram.h"

namespace eidetic::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kRun = 32;         // windows per thread in ngram_hashes
constexpr int64_t kMaxBlocks = 1 << 20;

static_assert(sizeof(unsigned long long) == sizeof(uint64_t), "atomicCAS needs 64-bit slots");

unsigned blocks_for(int64_t items) {
  const int64_t b = (items + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < kMaxBlocks ? b : kMaxBlocks);
}

__global__ void ngram_hashes_kernel(const int64_t* __restrict__ tokens,  // (L)
                                    int64_t windows, int64_t n, uint64_t top,
                                    uint64_t* __restrict__ out) {  // (windows)
  const int64_t runs = (windows + kRun - 1) / kRun;
  for (int64_t run = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; run < runs;
       run += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t first = run * kRun;
    const int64_t last = first + kRun < windows ? first + kRun : windows;
    uint64_t p = ngram_polynomial(tokens + first, n);
    out[first] = ngram_finish(p);
    for (int64_t i = first + 1; i < last; ++i) {
      p = (p - ngram_term(tokens[i - 1]) * top) * kNgramBase + ngram_term(tokens[i + n - 1]);
      out[i] = ngram_finish(p);
    }
  }
}

__global__ void hashset_insert_kernel(unsigned long long* __restrict__ table,  // (capacity)
                                      int64_t capacity,
                                      const uint64_t* __restrict__ keys,  // (count)
                                      int64_t count) {
  const uint64_t mask = static_cast<uint64_t>(capacity - 1);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const unsigned long long key = hashset_key(keys[i]);
    uint64_t slot = hashset_home(key, capacity);
    for (int64_t probe = 0; probe < capacity; ++probe, slot = (slot + 1) & mask) {
      const unsigned long long seen = table[slot];  // a cheap look before the atomic
      if (seen == key) break;
      if (seen != 0) continue;
      const unsigned long long prev = atomicCAS(table + slot, 0ull, key);
      if (prev == 0 || prev == key) break;
    }
  }
}

__global__ void hashset_contains_kernel(const uint64_t* __restrict__ table,  // (capacity)
                                        int64_t capacity,
                                        const uint64_t* __restrict__ keys,  // (count)
                                        int64_t count,
                                        bool* __restrict__ found) {  // (count)
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    found[i] = hashset_probe(table, capacity, hashset_key(keys[i]));
}

}  // namespace

void ngram_hashes(const int64_t* tokens, int64_t L, int64_t n, uint64_t* out,
                  cudaStream_t stream) {
  if (n < 1 || L < n) return;
  const int64_t windows = L - n + 1;
  ngram_hashes_kernel<<<blocks_for((windows + kRun - 1) / kRun), kThreads, 0, stream>>>(
      tokens, windows, n, ngram_base_power(n - 1), out);
  EIDETIC_CUDA_CHECK_LAUNCH();
}

void hashset_insert(uint64_t* table, int64_t capacity, const uint64_t* keys, int64_t count,
                    cudaStream_t stream) {
  if (count <= 0) return;
  hashset_insert_kernel<<<blocks_for(count), kThreads, 0, stream>>>(
      reinterpret_cast<unsigned long long*>(table), capacity, keys, count);
  EIDETIC_CUDA_CHECK_LAUNCH();
}

void hashset_contains(const uint64_t* table, int64_t capacity, const uint64_t* keys,
                      int64_t count, bool* found, cudaStream_t stream) {
  if (count <= 0) return;
  hashset_contains_kernel<<<blocks_for(count), kThreads, 0, stream>>>(table, capacity, keys,
                                                                       count, found);
  EIDETIC_CUDA_CHECK_LAUNCH();
}

}  // namespace eidetic::kernels
