// kernels/dequant.h: ggml's tensor types (the element formats of GGUF files) and their
// dequantization to float32.
//
// A ggml tensor row is a run of blocks; each block stores `block_elems` values in
// `block_bytes` bytes (F32/F16/BF16: one value a block; Q4_0 ... Q8_0: 32 values with an fp16
// scale and, for the _1 types, an fp16 minimum; the K-quants: 256 values in super-blocks with
// packed 4- or 6-bit sub-block scales). Dequantization follows ggml's reference C
// (ggml-quants.c, dequantize_row_*) operation for operation in float32 with no fused
// multiply-add, so its results equal the `gguf` Python package's `dequantize` bit for bit.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace eidetic::kernels {

// ggml type ids as GGUF stores them (ggml.h's enum ggml_type).
enum class GgmlType : int32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;     // ggml's name: "f32", "q4_1", "q4_K", ...
  int64_t block_elems;  // values per block
  int64_t block_bytes;  // bytes per block
};

// The layout of a type this build can dequantize, or nullptr for any other id (ggml types we
// do not read, such as the IQ family, and ids ggml never assigned).
const GgmlTypeInfo* ggml_type_info(int32_t type);

// The name ggml gives a type id, also for types we cannot read ("iq2_xxs", "q8_1", ...), or
// nullptr for an id ggml never assigned or has since removed (4, 5, 31..33, 36..38). For error
// messages.
const char* ggml_type_name(int32_t type);

// CPU twin: dequantizes n_blocks consecutive blocks of `type` (a type ggml_type_info knows)
// from `src` (n_blocks * block_bytes bytes) into dst (n_blocks * block_elems floats).
void dequantize_cpu(GgmlType type, const uint8_t* src, int64_t n_blocks, float* dst);

#if EIDETIC_WITH_CUDA
// CUDA kernel launcher: the same function; src and dst are device pointers.
void dequantize(GgmlType type, const uint8_t* src, int64_t n_blocks, float* dst, cudaStream_t stream);
#endif

}  // namespace eidetic::kernels
