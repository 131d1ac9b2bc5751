// kernels/argmax.h: batched argmax over the vocabulary, the last step of greedy decoding.
//
// For each of B rows of V logits, the index of the largest value. Ties go to the smallest
// index and NaN counts as larger than any number (the first NaN wins), which is what
// torch.argmax does, so that greedy decoding here and in the reference pick the same token.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace eidetic::kernels {

// CPU twin: the same function, computed simply.
void argmax_rows_cpu(const void* logits,  // (B, V) of `kind`, row r starts at r * row_stride
                     FloatKind kind, int64_t B, int64_t V, int64_t row_stride,
                     int64_t* out);  // (B)

#if EIDETIC_WITH_CUDA
// CUDA kernel launcher: pointers are device pointers; runs on `stream`.
void argmax_rows(const void* logits,  // (B, V) of `kind`, row r starts at r * row_stride
                 FloatKind kind, int64_t B, int64_t V, int64_t row_stride,
                 int64_t* out,  // (B)
                 cudaStream_t stream);
#endif

}  // namespace eidetic::kernels
