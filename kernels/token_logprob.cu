// kernels/token_logprob.cu: fused log-softmax + gather (+ entropy, rank), one block per row.
//
// Two passes over the row: the max, then sum(exp(x - m)), sum(exp(x - m) (x - m)) and the count
// of logits above the target's, all reduced with a fixed tree (deterministic). Memory-bound:
// the row is read twice (the second pass mostly from L2 for rows of a few hundred KB).
#include "kernels/cuda_check.h"
#include "kernels/device_common.cuh"
#include "kernels/token_logprob.h"

namespace eidetic::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

template <typename T>
__global__ void token_logprob_kernel(const T* __restrict__ logits, int64_t V, int64_t row_stride,
                                     const int64_t* __restrict__ targets, float* __restrict__ logprob,
                                     float* __restrict__ entropy, int64_t* __restrict__ rank) {
  __shared__ float s_max[kWarps];
  __shared__ float s_sum[kWarps], s_weighted[kWarps];
  __shared__ long long s_count[kWarps];
  const T* row = logits + static_cast<int64_t>(blockIdx.x) * row_stride;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, to_float(row[i]));
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (lane == 0) s_max[warp] = m;
  __syncthreads();
  m = s_max[0];
  for (int w = 1; w < kWarps; ++w) m = fmaxf(m, s_max[w]);

  const float xt = to_float(row[targets[blockIdx.x]]);
  float sum = 0.f, weighted = 0.f;
  long long greater = 0;
  for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
    const float d = to_float(row[i]) - m;
    const float e = expf(d);
    sum += e;
    weighted += e * d;
    greater += to_float(row[i]) > xt;
  }
  for (int o = 16; o > 0; o >>= 1) {
    sum += __shfl_xor_sync(0xffffffffu, sum, o);
    weighted += __shfl_xor_sync(0xffffffffu, weighted, o);
    greater += __shfl_xor_sync(0xffffffffu, greater, o);
  }
  if (lane == 0) s_sum[warp] = sum, s_weighted[warp] = weighted, s_count[warp] = greater;
  __syncthreads();
  if (threadIdx.x == 0) {
    sum = weighted = 0.f;
    greater = 0;
    for (int w = 0; w < kWarps; ++w) sum += s_sum[w], weighted += s_weighted[w], greater += s_count[w];
    const float log_sum = logf(sum);
    logprob[blockIdx.x] = xt - m - log_sum;
    if (entropy) entropy[blockIdx.x] = log_sum - weighted / sum;
    if (rank) rank[blockIdx.x] = greater + 1;
  }
}

}  // namespace

void token_logprobs(const void* logits, FloatKind kind, int64_t N, int64_t V, int64_t row_stride,
                    const int64_t* targets, float* logprob, float* entropy, int64_t* rank, cudaStream_t stream) {
  if (N == 0) return;
  const dim3 grid(static_cast<unsigned>(N));
  switch (kind) {
    case FloatKind::f32:
      token_logprob_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const float*>(logits), V, row_stride, targets,
                                                          logprob, entropy, rank);
      break;
    case FloatKind::f16:
      token_logprob_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const __half*>(logits), V, row_stride, targets,
                                                          logprob, entropy, rank);
      break;
    case FloatKind::bf16:
      token_logprob_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(logits), V, row_stride,
                                                          targets, logprob, entropy, rank);
      break;
  }
  EIDETIC_CUDA_CHECK_LAUNCH();
}

}  // namespace eidetic::kernels
