// kernels/sample.cu: temperature / top-k / top-p sampling, one thread block per row.
//
// The function is defined in sample.h; this is how the block computes it without sorting.
// Every pass streams the row through the block with coalesced loads:
//   max            one pass, block max (also gives greedy's argmax when t <= 0);
//   normalizer     one pass, sum of exp(x - max) for the token's log-probability;
//   top-k          radix selection of the k-th largest logit: four passes, each a 256-bin
//                  histogram (shared memory) of one byte of the order-preserving key, among
//                  the elements whose higher bytes match what was selected so far;
//   top-p          one pass for the kept mass, then the same radix selection with each bin
//                  holding quantized probability mass instead of a count (integers, so the
//                  shared-memory atomics give the same sums in any order);
//   draw           one pass, Gumbel-max over the kept tokens with counter-based noise.
// Results depend only on (seed, stream, step): deterministic run to run and equal to the CPU
// twin up to the last-ulp differences of exp/log between devices.
#include "kernels/cuda_check.h"
#include "kernels/device_common.cuh"
#include "kernels/sample.h"

namespace eidetic::kernels {
namespace {

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;

struct Shared {
  float f[kWarps];
  int64_t i[kWarps];
  unsigned long long hist[256];
  unsigned long long total;
  uint32_t prefix;
  unsigned long long remaining;
};

// Block-wide max with a fixed reduction tree.
__device__ float block_max(float v, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
  if (threadIdx.x % 32 == 0) s.f[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < kWarps ? s.f[threadIdx.x] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) s.f[0] = v;
  }
  __syncthreads();
  v = s.f[0];
  __syncthreads();
  return v;
}

__device__ float block_sum(float v, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) s.f[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < kWarps ? s.f[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) s.f[0] = v;
  }
  __syncthreads();
  v = s.f[0];
  __syncthreads();
  return v;
}

__device__ int64_t block_argmax(float v, int64_t i, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_down_sync(0xffffffffu, v, o);
    const int64_t oi = __shfl_down_sync(0xffffffffu, i, o);
    if (better(ov, oi, v, i)) v = ov, i = oi;
  }
  if (threadIdx.x % 32 == 0) s.f[threadIdx.x / 32] = v, s.i[threadIdx.x / 32] = i;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < kWarps ? s.f[threadIdx.x] : -INFINITY;
    i = threadIdx.x < kWarps ? s.i[threadIdx.x] : INT64_MAX;
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_down_sync(0xffffffffu, v, o);
      const int64_t oi = __shfl_down_sync(0xffffffffu, i, o);
      if (better(ov, oi, v, i)) v = ov, i = oi;
    }
    if (threadIdx.x == 0) s.i[0] = i;
  }
  __syncthreads();
  i = s.i[0];
  __syncthreads();
  return i;
}

// The largest key K such that the elements with key >= K weigh at least `target` (weights 0
// for excluded elements). Four byte-wide passes from the most significant byte down.
template <typename KeyWeight>
__device__ uint32_t radix_select(int64_t V, KeyWeight key_weight, unsigned long long target, Shared& s) {
  uint32_t prefix = 0, mask = 0;
  unsigned long long remaining = target;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) s.hist[b] = 0;
    __syncthreads();
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
      uint32_t key;
      unsigned long long w;
      key_weight(i, key, w);
      if (w != 0 && (key & mask) == prefix) atomicAdd(&s.hist[(key >> shift) & 255u], w);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      unsigned long long above = 0;
      int d = 255;
      for (; d > 0; --d) {
        if (above + s.hist[d] >= remaining) break;
        above += s.hist[d];
      }
      s.prefix = prefix | (static_cast<uint32_t>(d) << shift);
      s.remaining = remaining - above;
    }
    __syncthreads();
    prefix = s.prefix;
    remaining = s.remaining;
    mask |= 255u << shift;
    __syncthreads();
  }
  return prefix;
}

template <typename T>
__global__ void sample_kernel(const T* __restrict__ logits,  // (B, V), rows row_stride apart
                              int64_t V, int64_t row_stride,
                              const int64_t* __restrict__ streams,  // (B)
                              const int64_t* __restrict__ step_ptr,  // scalar
                              SampleParams p,
                              int64_t* __restrict__ tokens,    // (B)
                              float* __restrict__ logprobs) {  // (B) or null
  __shared__ Shared s;
  const T* row = logits + static_cast<int64_t>(blockIdx.x) * row_stride;
  const int64_t step = *step_ptr;
  const float t = temperature_at(p, step);

  float local_max = -INFINITY;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) local_max = fmaxf(local_max, to_float(row[i]));
  const float m = block_max(local_max, s);

  int64_t token;
  if (!(t > 0.f)) {
    float bv = -INFINITY;
    int64_t bi = INT64_MAX;
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
      const float x = to_float(row[i]);
      if (better(x, i, bv, bi)) bv = x, bi = i;
    }
    token = block_argmax(bv, bi, s);
  } else {
    const float zmax = m / t;
    uint32_t k_threshold = 0;
    if (p.top_k > 0 && p.top_k < V) {
      k_threshold = radix_select(
          V,
          [&](int64_t i, uint32_t& key, unsigned long long& w) {
            key = float_order_key(to_float(row[i]));
            w = 1;
          },
          static_cast<unsigned long long>(p.top_k), s);
    }
    uint32_t p_threshold = 0;
    if (p.top_p < 1.0f) {
      if (threadIdx.x == 0) s.total = 0;
      __syncthreads();
      unsigned long long local = 0;
      for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
        const float x = to_float(row[i]);
        if (float_order_key(x) >= k_threshold) local += quantize_weight(x / t - zmax);
      }
      atomicAdd(&s.total, local);
      __syncthreads();
      const double want = ceil(static_cast<double>(p.top_p) * static_cast<double>(s.total));
      const unsigned long long target = want < 1.0 ? 1ull : static_cast<unsigned long long>(want);
      __syncthreads();
      p_threshold = radix_select(
          V,
          [&](int64_t i, uint32_t& key, unsigned long long& w) {
            const float x = to_float(row[i]);
            const float z = x / t;
            key = float_order_key(z);
            w = float_order_key(x) >= k_threshold ? quantize_weight(z - zmax) : 0ull;
          },
          target, s);
    }
    const uint64_t stream = static_cast<uint64_t>(streams[blockIdx.x]);
    float bv = -INFINITY;
    int64_t bi = INT64_MAX;
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
      const float x = to_float(row[i]);
      const float z = x / t;
      if (float_order_key(x) < k_threshold || float_order_key(z) < p_threshold) continue;
      const float u = uniform_open01(random_bits(p.seed, stream, static_cast<uint64_t>(step), static_cast<uint64_t>(i)));
      const float score = z + gumbel_noise(u);
      if (bi == INT64_MAX || score > bv || (score == bv && i < bi)) bv = score, bi = i;
    }
    token = block_argmax(bv, bi, s);
  }

  if (logprobs != nullptr) {
    float local = 0.f;
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) local += expf(to_float(row[i]) - m);
    const float sum = block_sum(local, s);
    if (threadIdx.x == 0) logprobs[blockIdx.x] = (to_float(row[token]) - m) - logf(sum);
  }
  if (threadIdx.x == 0) tokens[blockIdx.x] = token;
}

}  // namespace

void sample_tokens(const void* logits, FloatKind kind, int64_t B, int64_t V, int64_t row_stride,
                   const int64_t* streams, const int64_t* step, const SampleParams& params, int64_t* tokens,
                   float* logprobs, cudaStream_t stream) {
  if (B == 0) return;
  const dim3 grid(static_cast<unsigned>(B));
  switch (kind) {
    case FloatKind::f32:
      sample_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const float*>(logits), V, row_stride, streams, step,
                                                   params, tokens, logprobs);
      break;
    case FloatKind::f16:
      sample_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const __half*>(logits), V, row_stride, streams, step,
                                                   params, tokens, logprobs);
      break;
    case FloatKind::bf16:
      sample_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(logits), V, row_stride, streams,
                                                   step, params, tokens, logprobs);
      break;
  }
  EIDETIC_CUDA_CHECK_LAUNCH();
}

}  // namespace eidetic::kernels
