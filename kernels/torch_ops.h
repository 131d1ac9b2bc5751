// kernels/torch_ops.h: the torch bridge. The only place where tensors meet kernels.
//
// Each function checks its tensors (device, dtype, shape, strides) and throws eidetic::Error
// naming the argument and what was expected; then it runs the CUDA kernel for CUDA tensors
// or the CPU twin for CPU tensors. Code below this bridge trusts its inputs.
#pragma once

#include <ATen/core/Tensor.h>

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

// Whether this build carries the CUDA kernels.
bool built_with_cuda();

}  // namespace eidetic::ops
