// kernels/common.h: what every kernel file shares, and nothing that needs CUDA headers.
//
// A kernel launcher takes raw pointers, sizes and a `cudaStream_t`. So that callers (and the
// CPU-only build) can name the stream type without pulling in the CUDA runtime headers, we
// forward-declare it exactly as the runtime does: a pointer to an opaque struct.
#pragma once

#include <cstdint>
#include <cstring>

typedef struct CUstream_st* cudaStream_t;  // identical to the CUDA runtime's own typedef

namespace eidetic::kernels {

// The floating-point formats logits arrive in. fp16 and bf16 travel as their raw 16 bits.
enum class FloatKind : int { f32 = 0, f16 = 1, bf16 = 2 };

const char* float_kind_name(FloatKind kind);

// IEEE binary16 bits to float, exactly (subnormals, infinities and NaN included).
inline float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// bfloat16 bits to float: the upper half of a float, exactly.
inline float bf16_bits_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// float to bfloat16 bits, round to nearest even (NaN stays NaN). Used by tests and twins.
inline uint16_t float_to_bf16_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

// float to binary16 bits, round to nearest even, with overflow to infinity.
uint16_t float_to_half_bits(float f);

}  // namespace eidetic::kernels
