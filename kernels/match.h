// kernels/match.h: token matching, the test at the heart of every extraction attack.
//
// For generated (B, N) and target (B, N) token ids: per row, the length of the longest common
// prefix (the number of leading positions where the two agree) and whether all N positions
// match (exact extraction: lcp == N).
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace eidetic::kernels {

// CPU twin.
void match_tokens_cpu(const int64_t* generated,  // (B, N), row r at r * generated_stride
                      int64_t generated_stride,
                      const int64_t* target,  // (B, N), row r at r * target_stride
                      int64_t target_stride, int64_t B, int64_t N,
                      int64_t* lcp,     // (B) longest common prefix length, 0..N
                      bool* exact);     // (B) lcp == N

#if EIDETIC_WITH_CUDA
// CUDA kernel launcher: one warp per row; device pointers; runs on `stream`.
void match_tokens(const int64_t* generated,  // (B, N), row r at r * generated_stride
                  int64_t generated_stride,
                  const int64_t* target,  // (B, N), row r at r * target_stride
                  int64_t target_stride, int64_t B, int64_t N,
                  int64_t* lcp,  // (B)
                  bool* exact,   // (B)
                  cudaStream_t stream);
#endif

}  // namespace eidetic::kernels
