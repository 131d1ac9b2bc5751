// kernels/token_logprob.h: fused log-softmax + gather, the inner loop of every scoring attack.
//
// For N rows of logits (N, V) and a target token per row: log_softmax(row)[target], and where
// asked the entropy of the row's distribution and the target's rank (1 + the number of tokens
// with a strictly larger logit). One pass over each row in its own dtype, no (N, V) float32
// copy: scoring 256 x 100 tokens of a 50k vocabulary otherwise materializes 5 GB.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace eidetic::kernels {

// CPU twin.
void token_logprobs_cpu(const void* logits,  // (N, V) of `kind`, row r at r * row_stride
                        FloatKind kind, int64_t N, int64_t V, int64_t row_stride,
                        const int64_t* targets,  // (N), each in [0, V)
                        float* logprob,          // (N)
                        float* entropy,          // (N) or null
                        int64_t* rank);          // (N) or null

#if EIDETIC_WITH_CUDA
void token_logprobs(const void* logits,  // (N, V) of `kind`, row r at r * row_stride
                    FloatKind kind, int64_t N, int64_t V, int64_t row_stride,
                    const int64_t* targets,  // (N) device
                    float* logprob,          // (N) device
                    float* entropy,          // (N) device or null
                    int64_t* rank,           // (N) device or null
                    cudaStream_t stream);
#endif

}  // namespace eidetic::kernels
