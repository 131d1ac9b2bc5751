// kernels/dequant.cu: ggml blocks to float32, one thread per output value.
//
// Dequantization reads each byte of the blocks about once and writes four bytes per value, so
// it is bound by memory bandwidth. Each thread computes the values `idx`, `idx + stride`, ...
// (a grid-stride loop), so consecutive threads write consecutive floats (coalesced stores) and
// read the same block's bytes (served by the cache). A value is computed alone from its index
// inside its block by the per-element form of ggml's dequantize_row_* loops (the formulas of
// kernels/dequant_cpu.cpp, which follows those loops literally).
//
// Bit-exactness with the CPU twin and with ggml: nvcc contracts a*b+c into one fused
// multiply-add by default (--fmad=true), which rounds once where ggml rounds twice. Every
// multiplication and addition here goes through __fmul_rn/__fadd_rn/__fsub_rn, which nvcc never
// contracts, and the operands are combined in ggml's order ((d * sc) * q, then - dmin * m).
// fp16 and bf16 become float by bit manipulation, exactly as kernels/common.h does on the CPU
// (NaN payloads included). Bytes are read one at a time: `src` may have any alignment.
#include "kernels/cuda_check.h"
#include "kernels/dequant.h"

namespace eidetic::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGrid = 1 << 16;  // enough blocks to fill any device; the loop covers the rest

__device__ __forceinline__ uint32_t u16_at(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8);
}

__device__ __forceinline__ uint32_t u32_at(const uint8_t* p) {
  return u16_at(p) | (u16_at(p + 2) << 16);
}

// IEEE binary16 bits to float, exactly: kernels/common.h's half_bits_to_float, with the
// subnormal renormalized by a count of leading zeros instead of a loop.
__device__ __forceinline__ float f16_at(const uint8_t* p) {
  const uint32_t h = u16_at(p);
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: shift the leading 1 up to bit 10; each shift lowers the exponent
      const uint32_t shift = static_cast<uint32_t>(__clz(mant)) - 21u;
      bits = sign | ((113u - shift) << 23) | (((mant << shift) & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  return __uint_as_float(bits);
}

__device__ __forceinline__ float to_f(int v) { return static_cast<float>(v); }

// The value at index i (0 <= i < block_elems) of block x, per type.
template <GgmlType T>
__device__ __forceinline__ float element(const uint8_t* x, int i);

template <>
__device__ __forceinline__ float element<GgmlType::F32>(const uint8_t* x, int) {
  return __uint_as_float(u32_at(x));
}

template <>
__device__ __forceinline__ float element<GgmlType::F16>(const uint8_t* x, int) {
  return f16_at(x);
}

template <>
__device__ __forceinline__ float element<GgmlType::BF16>(const uint8_t* x, int) {
  return __uint_as_float(u16_at(x) << 16);
}

// Q4_0 ... Q5_1: low nibbles hold values 0..15, high nibbles 16..31; the fifth bit of value i
// is bit i of the little-endian u32 qh.
__device__ __forceinline__ int nibble(const uint8_t* qs, int i) {
  return i < 16 ? (qs[i] & 0xF) : (qs[i - 16] >> 4);
}

template <>
__device__ __forceinline__ float element<GgmlType::Q4_0>(const uint8_t* x, int i) {
  return __fmul_rn(to_f(nibble(x + 2, i) - 8), f16_at(x));
}

template <>
__device__ __forceinline__ float element<GgmlType::Q4_1>(const uint8_t* x, int i) {
  return __fadd_rn(__fmul_rn(to_f(nibble(x + 4, i)), f16_at(x)), f16_at(x + 2));
}

template <>
__device__ __forceinline__ float element<GgmlType::Q5_0>(const uint8_t* x, int i) {
  const int h = static_cast<int>((u32_at(x + 2) >> i) & 1u);
  return __fmul_rn(to_f((nibble(x + 6, i) | (h << 4)) - 16), f16_at(x));
}

template <>
__device__ __forceinline__ float element<GgmlType::Q5_1>(const uint8_t* x, int i) {
  const int h = static_cast<int>((u32_at(x + 4) >> i) & 1u);
  return __fadd_rn(__fmul_rn(to_f(nibble(x + 8, i) | (h << 4)), f16_at(x)), f16_at(x + 2));
}

template <>
__device__ __forceinline__ float element<GgmlType::Q8_0>(const uint8_t* x, int i) {
  return __fmul_rn(to_f(static_cast<int8_t>(x[2 + i])), f16_at(x));
}

// Q2_K: value i is 2-bit field j = (i % 128) / 32 of qs[32 * (i / 128) + i % 32]; scale byte
// i / 16 holds the sub-block's scale (low nibble) and min (high nibble).
template <>
__device__ __forceinline__ float element<GgmlType::Q2_K>(const uint8_t* x, int i) {
  const int n = i / 128, j = (i % 128) / 32, l = i % 32;
  const int q = (x[16 + 32 * n + l] >> (2 * j)) & 3;
  const int s = x[i / 16];
  const float dl = __fmul_rn(f16_at(x + 80), to_f(s & 0xF));
  const float ml = __fmul_rn(f16_at(x + 82), to_f(s >> 4));
  return __fsub_rn(__fmul_rn(dl, to_f(q)), ml);
}

// Q3_K: as Q2_K for the low two bits; hmask bit i / 32 of hmask[i % 32] set means no offset,
// clear means -4; 6-bit signed scales (-32 ... 31) packed in 12 bytes.
template <>
__device__ __forceinline__ float element<GgmlType::Q3_K>(const uint8_t* x, int i) {
  const int n = i / 128, j = (i % 128) / 32, l = i % 32;
  const int q = (x[32 + 32 * n + l] >> (2 * j)) & 3;
  const int hbit = (x[l] >> (i / 32)) & 1;
  const uint8_t* packed = x + 96;
  const int k = i / 16;
  const int lo = k < 8 ? (packed[k] & 0xF) : (packed[k - 8] >> 4);
  const int hi = (packed[8 + k % 4] >> (2 * (k / 4))) & 3;
  const int sc = (lo | (hi << 4)) - 32;
  const float dl = __fmul_rn(f16_at(x + 108), to_f(sc));
  return __fmul_rn(dl, to_f(q - (hbit ? 0 : 4)));
}

// ggml's get_scale_min_k4 (Q4_K, Q5_K): the j-th 6-bit (scale, min) pair of 12 packed bytes.
__device__ __forceinline__ void scale_min_k4(int j, const uint8_t* q, int& sc, int& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K and Q5_K: the value of quant q at element i, (d * sc) * q - (dmin * m), sub-block i / 32.
__device__ __forceinline__ float k4_value(const uint8_t* x, int i, int q) {
  int sc, m;
  scale_min_k4(i / 32, x + 4, sc, m);
  const float d1 = __fmul_rn(f16_at(x), to_f(sc));
  const float m1 = __fmul_rn(f16_at(x + 2), to_f(m));
  return __fsub_rn(__fmul_rn(d1, to_f(q)), m1);
}

// Q4_K: each 32-byte chunk of qs carries 64 values, low nibbles first.
template <>
__device__ __forceinline__ float element<GgmlType::Q4_K>(const uint8_t* x, int i) {
  const int g = i / 64, r = i % 64, l = r % 32;
  const uint8_t byte = x[16 + 32 * g + l];
  return k4_value(x, i, r < 32 ? (byte & 0xF) : (byte >> 4));
}

// Q5_K: Q4_K plus a fifth bit, bit i / 32 of qh[i % 32].
template <>
__device__ __forceinline__ float element<GgmlType::Q5_K>(const uint8_t* x, int i) {
  const int g = i / 64, r = i % 64, l = r % 32;
  const uint8_t byte = x[48 + 32 * g + l];
  return k4_value(x, i, (r < 32 ? (byte & 0xF) : (byte >> 4)) + (((x[16 + l] >> (i / 32)) & 1) ? 16 : 0));
}

// Q6_K: 4 low bits from ql, 2 high bits from qh, minus 32; int8 scale per 16 values.
template <>
__device__ __forceinline__ float element<GgmlType::Q6_K>(const uint8_t* x, int i) {
  const int n = i / 128, r = i % 128, k = r / 32, l = r % 32;
  const uint8_t lo_byte = x[64 * n + ((k & 1) ? 32 : 0) + l];
  const int lo4 = k < 2 ? (lo_byte & 0xF) : (lo_byte >> 4);
  const int hi2 = (x[128 + 32 * n + l] >> (2 * k)) & 3;
  const int q = (lo4 | (hi2 << 4)) - 32;
  const int sc = static_cast<int8_t>(x[192 + i / 16]);
  return __fmul_rn(__fmul_rn(f16_at(x + 208), to_f(sc)), to_f(q));
}

template <GgmlType T, int kElems, int kBytes>
__global__ void dequantize_kernel(const uint8_t* __restrict__ src, int64_t total,
                                  float* __restrict__ dst) {  // total = n_blocks * kElems
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t b = idx / kElems;
    const int i = static_cast<int>(idx - b * kElems);
    dst[idx] = element<T>(src + b * kBytes, i);
  }
}

template <GgmlType T, int kElems, int kBytes>
void launch(const uint8_t* src, int64_t n_blocks, float* dst, cudaStream_t stream) {
  const int64_t total = n_blocks * kElems;
  const int64_t wanted = (total + kThreads - 1) / kThreads;
  const dim3 grid(static_cast<unsigned>(wanted < kMaxGrid ? wanted : kMaxGrid));
  dequantize_kernel<T, kElems, kBytes><<<grid, kThreads, 0, stream>>>(src, total, dst);
}

}  // namespace

void dequantize(GgmlType type, const uint8_t* src, int64_t n_blocks, float* dst, cudaStream_t stream) {
  if (n_blocks <= 0) return;
  switch (type) {
    case GgmlType::F32: launch<GgmlType::F32, 1, 4>(src, n_blocks, dst, stream); break;
    case GgmlType::F16: launch<GgmlType::F16, 1, 2>(src, n_blocks, dst, stream); break;
    case GgmlType::BF16: launch<GgmlType::BF16, 1, 2>(src, n_blocks, dst, stream); break;
    case GgmlType::Q4_0: launch<GgmlType::Q4_0, 32, 18>(src, n_blocks, dst, stream); break;
    case GgmlType::Q4_1: launch<GgmlType::Q4_1, 32, 20>(src, n_blocks, dst, stream); break;
    case GgmlType::Q5_0: launch<GgmlType::Q5_0, 32, 22>(src, n_blocks, dst, stream); break;
    case GgmlType::Q5_1: launch<GgmlType::Q5_1, 32, 24>(src, n_blocks, dst, stream); break;
    case GgmlType::Q8_0: launch<GgmlType::Q8_0, 32, 34>(src, n_blocks, dst, stream); break;
    case GgmlType::Q2_K: launch<GgmlType::Q2_K, 256, 84>(src, n_blocks, dst, stream); break;
    case GgmlType::Q3_K: launch<GgmlType::Q3_K, 256, 110>(src, n_blocks, dst, stream); break;
    case GgmlType::Q4_K: launch<GgmlType::Q4_K, 256, 144>(src, n_blocks, dst, stream); break;
    case GgmlType::Q5_K: launch<GgmlType::Q5_K, 256, 176>(src, n_blocks, dst, stream); break;
    case GgmlType::Q6_K: launch<GgmlType::Q6_K, 256, 210>(src, n_blocks, dst, stream); break;
    default: return;  // not a type ggml_type_info knows: the bridge has refused it already
  }
  EIDETIC_CUDA_CHECK_LAUNCH();
}

}  // namespace eidetic::kernels
