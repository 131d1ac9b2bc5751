// kernels/match.cu: longest common prefix and exact match of token rows, one warp per row.
//
// The warp reads 32 consecutive positions of both rows at a time (coalesced), asks with one
// ballot which lanes disagree, and stops at the first chunk with a disagreement: the lowest
// set bit of the ballot is the first mismatch. Rows that match in full read everything once;
// rows that diverge early stop early. The work is tiny next to decoding, but it runs on every
// batch, on the device, with no copy of the generated tokens back to the host.
#include "kernels/cuda_check.h"
#include "kernels/match.h"

namespace eidetic::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;

__global__ void match_tokens_kernel(const int64_t* __restrict__ generated,  // (B, N)
                                    int64_t generated_stride,
                                    const int64_t* __restrict__ target,  // (B, N)
                                    int64_t target_stride, int64_t B, int64_t N,
                                    int64_t* __restrict__ lcp,  // (B)
                                    bool* __restrict__ exact) {  // (B)
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (row >= B) return;  // whole warps leave together: B is uniform across a warp's lanes
  const int64_t* g = generated + row * generated_stride;
  const int64_t* t = target + row * target_stride;
  int64_t length = N;
  for (int64_t base = 0; base < N; base += 32) {
    const int64_t n = base + lane;
    const bool differs = n < N && g[n] != t[n];
    const unsigned ballot = __ballot_sync(0xffffffffu, differs);
    if (ballot != 0u) {
      length = base + __ffs(ballot) - 1;
      break;
    }
  }
  if (lane == 0) {
    lcp[row] = length;
    exact[row] = length == N;
  }
}

}  // namespace

void match_tokens(const int64_t* generated, int64_t generated_stride, const int64_t* target,
                  int64_t target_stride, int64_t B, int64_t N, int64_t* lcp, bool* exact,
                  cudaStream_t stream) {
  if (B == 0) return;
  const auto blocks = static_cast<unsigned>((B + kWarpsPerBlock - 1) / kWarpsPerBlock);
  match_tokens_kernel<<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
      generated, generated_stride, target, target_stride, B, N, lcp, exact);
  EIDETIC_CUDA_CHECK_LAUNCH();
}

}  // namespace eidetic::kernels
