// kernels/argmax.cu: batched argmax over logits (B, V), one thread block per row.
//
// Greedy decoding reads the whole (B, V) logits tensor once and writes B indices, so the
// kernel is bound by memory bandwidth: the only goal is to stream the row through the SMs at
// full speed. Each of the block's threads walks the row with a stride of the block size
// (coalesced loads), keeps its own best (value, index), then the block reduces those pairs:
// first within each warp by shuffles, then across warps through shared memory.
//
// Order of comparison is what makes the result exact and equal to the CPU twin: a pair wins
// when its value is NaN and the other's is not, or when it is strictly greater, or when the
// two are equal (or both NaN) and its index is smaller. That relation is a total order on
// (value, index) pairs, so any reduction tree gives the same answer as the left-to-right loop.
#include "kernels/argmax.h"
#include "kernels/cuda_check.h"
#include "kernels/device_common.cuh"

namespace eidetic::kernels {
namespace {

constexpr int kThreads = 512;

struct Best {
  float value;
  int64_t index;
};


template <typename T>
__global__ void argmax_rows_kernel(const T* __restrict__ logits,  // (B, V), rows row_stride apart
                                   int64_t V, int64_t row_stride,
                                   int64_t* __restrict__ out) {  // (B)
  const T* row = logits + static_cast<int64_t>(blockIdx.x) * row_stride;
  Best best{-INFINITY, V};  // index V loses every tie against a real index
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const float x = to_float(row[v]);
    if (better(x, v, best.value, best.index)) best = {x, v};
  }
  // Within the warp.
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other_value = __shfl_down_sync(0xffffffffu, best.value, offset);
    const int64_t other_index = __shfl_down_sync(0xffffffffu, best.index, offset);
    if (better(other_value, other_index, best.value, best.index)) best = {other_value, other_index};
  }
  // Across warps.
  __shared__ Best warp_best[kThreads / 32];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  if (lane == 0) warp_best[warp] = best;
  __syncthreads();
  if (warp == 0) {
    const int warps = blockDim.x / 32;
    best = lane < warps ? warp_best[lane] : Best{-INFINITY, V};
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float other_value = __shfl_down_sync(0xffffffffu, best.value, offset);
      const int64_t other_index = __shfl_down_sync(0xffffffffu, best.index, offset);
      if (better(other_value, other_index, best.value, best.index))
        best = {other_value, other_index};
    }
    if (lane == 0) out[blockIdx.x] = best.index;
  }
}

}  // namespace

void argmax_rows(const void* logits, FloatKind kind, int64_t B, int64_t V, int64_t row_stride,
                 int64_t* out, cudaStream_t stream) {
  if (B == 0) return;
  const dim3 grid(static_cast<unsigned>(B));
  switch (kind) {
    case FloatKind::f32:
      argmax_rows_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const float*>(logits), V,
                                                        row_stride, out);
      break;
    case FloatKind::f16:
      argmax_rows_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const __half*>(logits), V,
                                                        row_stride, out);
      break;
    case FloatKind::bf16:
      argmax_rows_kernel<<<grid, kThreads, 0, stream>>>(
          static_cast<const __nv_bfloat16*>(logits), V, row_stride, out);
      break;
  }
  EIDETIC_CUDA_CHECK_LAUNCH();
}

}  // namespace eidetic::kernels
