// kernels/torch_ops.h: the torch bridge. The only place where tensors meet kernels.
//
// Each function checks its tensors (device, dtype, shape, strides) and throws eidetic::Error
// naming the argument and what was expected; then it runs the CUDA kernel for CUDA tensors
// or the CPU twin for CPU tensors. Code below this bridge trusts its inputs.
#pragma once

#include <ATen/core/Tensor.h>

#include "kernels/dequant.h"
#include "kernels/sample.h"

namespace eidetic::ops {

// Greedy choice: per row of logits (B, V) in float32, float16 or bfloat16 whose last
// dimension is contiguous, the index of the largest value (ties: smallest index; NaN wins).
// Returns (B) int64 on the logits' device.
at::Tensor argmax_rows(const at::Tensor& logits);

struct TokenMatch {
  at::Tensor lcp;    // (B) int64: length of the longest common prefix
  at::Tensor exact;  // (B) bool: all N positions equal
};

// Token matching of generated (B, N) against target (B, N), integer ids on one device.
TokenMatch match_tokens(const at::Tensor& generated, const at::Tensor& target);

// One sampled token per row of logits (B, V) (see kernels/sample.h for the exact function):
// tokens (B) int64 and their untempered log-probabilities (B) float32. `streams` (B) int64
// names each row's sequence; `step` is a one-element int64 tensor on the logits' device (read
// on the device, so a captured CUDA graph can advance it between replays).
struct Sampled {
  at::Tensor tokens;
  at::Tensor logprobs;
};
Sampled sample_tokens(const at::Tensor& logits, const at::Tensor& streams, const at::Tensor& step,
                      const kernels::SampleParams& params);
// The same, writing into preallocated outputs (for graph capture: no allocation).
void sample_tokens_out(const at::Tensor& logits, const at::Tensor& streams, const at::Tensor& step,
                       const kernels::SampleParams& params, at::Tensor& tokens, at::Tensor& logprobs);

// Fused log_softmax + gather over rows of logits (N, V): log-probability of targets (N), and
// when asked the entropy (N) float32 and rank (N) int64 (1 = the most likely token).
struct TokenScores {
  at::Tensor logprob;
  at::Tensor entropy;  // undefined unless asked
  at::Tensor rank;     // undefined unless asked
};
TokenScores token_logprobs(const at::Tensor& logits, const at::Tensor& targets, bool entropy, bool rank);

// ggml blocks to float32: `blocks` is a contiguous uint8 tensor (CPU or CUDA) holding a whole
// number of blocks of `type`; returns their values, float32 (blocks * block_elems) on the same
// device (kernels/dequant.h: ggml's reference arithmetic, bit for bit).
at::Tensor dequantize(const at::Tensor& blocks, kernels::GgmlType type);

// Whether this build carries the CUDA kernels.
bool built_with_cuda();

}  // namespace eidetic::ops
