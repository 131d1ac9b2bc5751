// CPU twin of kernels/dequant.cu, and the table of ggml types.
//
// Each dequantize_* below is a transcription of ggml-quants.c's dequantize_row_* (the reference
// C that the `gguf` Python package mirrors): the same loops, the same float32 operations in the
// same order. Integers become float before they multiply; a product is rounded before it is
// added to the minimum (x*d, then + m; dl*q, then - ml). This file is compiled with
// -ffp-contract=off (kernels/CMakeLists.txt) so that the compiler cannot fuse such a pair into
// one multiply-add with a single rounding. Multi-byte fields are assembled from their bytes
// (little-endian, as GGUF stores them), so neither the host's byte order nor the alignment of
// `src` matters.
#include <cstring>

#include "kernels/dequant.h"

#include "common/gguf_file.h"

namespace eidetic::kernels {
namespace {

constexpr int64_t QK = 32;    // values per block of Q4_0 ... Q8_0
constexpr int64_t QK_K = 256;  // values per super-block of the K-quants

constexpr GgmlTypeInfo kTypes[] = {
    {GgmlType::F32, "f32", 1, 4},
    {GgmlType::F16, "f16", 1, 2},
    {GgmlType::Q4_0, "q4_0", QK, 18},
    {GgmlType::Q4_1, "q4_1", QK, 20},
    {GgmlType::Q5_0, "q5_0", QK, 22},
    {GgmlType::Q5_1, "q5_1", QK, 24},
    {GgmlType::Q8_0, "q8_0", QK, 34},
    {GgmlType::Q2_K, "q2_K", QK_K, 84},
    {GgmlType::Q3_K, "q3_K", QK_K, 110},
    {GgmlType::Q4_K, "q4_K", QK_K, 144},
    {GgmlType::Q5_K, "q5_K", QK_K, 176},
    {GgmlType::Q6_K, "q6_K", QK_K, 210},
    {GgmlType::BF16, "bf16", 1, 2},
};

inline float f16_at(const uint8_t* p) {
  return half_bits_to_float(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}

inline uint32_t u32_at(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

void dequantize_q4_0(const uint8_t* x, float* y) {  // d:f16@0, qs[16]@2
  const float d = f16_at(x);
  const uint8_t* qs = x + 2;
  for (int j = 0; j < QK / 2; ++j) {
    const int x0 = (qs[j] & 0x0F) - 8;
    const int x1 = (qs[j] >> 4) - 8;
    y[j] = static_cast<float>(x0) * d;
    y[j + QK / 2] = static_cast<float>(x1) * d;
  }
}

void dequantize_q4_1(const uint8_t* x, float* y) {  // d:f16@0, m:f16@2, qs[16]@4
  const float d = f16_at(x);
  const float m = f16_at(x + 2);
  const uint8_t* qs = x + 4;
  for (int j = 0; j < QK / 2; ++j) {
    const int x0 = qs[j] & 0x0F;
    const int x1 = qs[j] >> 4;
    y[j] = static_cast<float>(x0) * d + m;
    y[j + QK / 2] = static_cast<float>(x1) * d + m;
  }
}

void dequantize_q5_0(const uint8_t* x, float* y) {  // d:f16@0, qh:u32@2, qs[16]@6
  const float d = f16_at(x);
  const uint32_t qh = u32_at(x + 2);
  const uint8_t* qs = x + 6;
  for (int j = 0; j < QK / 2; ++j) {
    const uint8_t xh_0 = static_cast<uint8_t>(((qh >> j) << 4) & 0x10);
    const uint8_t xh_1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
    const int32_t x0 = ((qs[j] & 0x0F) | xh_0) - 16;
    const int32_t x1 = ((qs[j] >> 4) | xh_1) - 16;
    y[j] = static_cast<float>(x0) * d;
    y[j + QK / 2] = static_cast<float>(x1) * d;
  }
}

void dequantize_q5_1(const uint8_t* x, float* y) {  // d:f16@0, m:f16@2, qh:u32@4, qs[16]@8
  const float d = f16_at(x);
  const float m = f16_at(x + 2);
  const uint32_t qh = u32_at(x + 4);
  const uint8_t* qs = x + 8;
  for (int j = 0; j < QK / 2; ++j) {
    const uint8_t xh_0 = static_cast<uint8_t>(((qh >> j) << 4) & 0x10);
    const uint8_t xh_1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
    const int x0 = (qs[j] & 0x0F) | xh_0;
    const int x1 = (qs[j] >> 4) | xh_1;
    y[j] = static_cast<float>(x0) * d + m;
    y[j + QK / 2] = static_cast<float>(x1) * d + m;
  }
}

void dequantize_q8_0(const uint8_t* x, float* y) {  // d:f16@0, qs int8[32]@2
  const float d = f16_at(x);
  for (int j = 0; j < QK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(x[2 + j])) * d;
}

void dequantize_q2_k(const uint8_t* x, float* y) {  // scales[16]@0, qs[64]@16, d@80, dmin@82
  const float d = f16_at(x + 80);
  const float min = f16_at(x + 82);
  const uint8_t* scales = x;
  const uint8_t* q = x + 16;
  int is = 0;
  for (int n = 0; n < QK_K; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      uint8_t sc = scales[is++];
      float dl = d * static_cast<float>(sc & 0xF);
      float ml = min * static_cast<float>(sc >> 4);
      for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l] >> shift) & 3) - ml;
      sc = scales[is++];
      dl = d * static_cast<float>(sc & 0xF);
      ml = min * static_cast<float>(sc >> 4);
      for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16] >> shift) & 3) - ml;
      shift += 2;
    }
    q += 32;
  }
}

void dequantize_q3_k(const uint8_t* x, float* y) {  // hmask[32]@0, qs[64]@32, scales[12]@96, d@108
  const float d_all = f16_at(x + 108);
  const uint8_t* hm = x;
  const uint8_t* q = x + 32;
  const uint8_t* packed = x + 96;
  // The sixteen 6-bit scales: low nibbles in bytes 0..7 (scales 0..7 low, 8..15 high), the two
  // high bits of scale k in byte 8 + k % 4 at bit 2 * (k / 4). ggml unpacks them with 32-bit
  // masks (kmask1/kmask2 on aux[4]); this is the same function, byte by byte.
  int scales[16];
  for (int k = 0; k < 16; ++k) {
    const int lo = k < 8 ? (packed[k] & 0xF) : (packed[k - 8] >> 4);
    const int hi = (packed[8 + k % 4] >> (2 * (k / 4))) & 3;
    scales[k] = (lo | (hi << 4)) - 32;
  }
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < QK_K; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      float dl = d_all * static_cast<float>(scales[is++]);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
      dl = d_all * static_cast<float>(scales[is++]);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>(((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
      shift += 2;
      m = static_cast<uint8_t>(m << 1);
    }
    q += 32;
  }
}

// ggml's get_scale_min_k4: the j-th (scale, min) pair, 6 bits each, of Q4_K and Q5_K.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

// Q4_K and Q5_K (ggml's dequantize_row_q4_K / _q5_K): 4 low bits from the nibbles at `ql`
// (low nibbles, then high ones, per 32-byte chunk), for Q5_K a fifth bit from `qh` (null for
// Q4_K); each 32 values scaled by d * sc and shifted by dmin * m.
void dequantize_k4(const uint8_t* x, const uint8_t* qh, const uint8_t* ql, float* y) {
  const float d = f16_at(x);
  const float min = f16_at(x + 2);
  const uint8_t* scales = x + 4;
  int is = 0;
  uint8_t sc, m;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < QK_K; j += 64) {
    get_scale_min_k4(is + 0, scales, &sc, &m);
    const float d1 = d * static_cast<float>(sc);
    const float m1 = min * static_cast<float>(m);
    get_scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * static_cast<float>(sc);
    const float m2 = min * static_cast<float>(m);
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh && (qh[l] & u1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh && (qh[l] & u2) ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

void dequantize_q4_k(const uint8_t* x, float* y) {  // d@0, dmin@2, scales[12]@4, qs[128]@16
  dequantize_k4(x, nullptr, x + 16, y);
}

void dequantize_q5_k(const uint8_t* x, float* y) {  // d@0, dmin@2, scales[12]@4, qh[32]@16, qs[128]@48
  dequantize_k4(x, x + 16, x + 48, y);
}

void dequantize_q6_k(const uint8_t* x, float* y) {  // ql[128]@0, qh[64]@128, scales int8[16]@192, d@208
  const float d = f16_at(x + 208);
  const uint8_t* ql = x;
  const uint8_t* qh = x + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
  for (int n = 0; n < QK_K; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      // ggml: d * sc[is] * q, evaluated left to right.
      y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

template <typename Block>
void each_block(const uint8_t* src, int64_t n_blocks, int64_t bytes, int64_t elems, float* dst, Block block) {
  for (int64_t b = 0; b < n_blocks; ++b) block(src + b * bytes, dst + b * elems);
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(int32_t type) {
  for (const GgmlTypeInfo& info : kTypes)
    if (static_cast<int32_t>(info.type) == type) return &info;
  return nullptr;
}

const char* ggml_type_name(int32_t type) {
  const gguf::TypeLayout* layout = gguf::type_layout(type);  // the one table of every ggml type
  return layout ? layout->name : nullptr;
}

void dequantize_cpu(GgmlType type, const uint8_t* src, int64_t n_blocks, float* dst) {
  switch (type) {
    case GgmlType::F32:  // the bits as they are (NaN payloads included)
      if (n_blocks > 0) std::memcpy(dst, src, static_cast<size_t>(n_blocks) * 4);
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n_blocks; ++i) dst[i] = f16_at(src + 2 * i);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n_blocks; ++i)
        dst[i] = bf16_bits_to_float(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
      return;
    case GgmlType::Q4_0: return each_block(src, n_blocks, 18, QK, dst, dequantize_q4_0);
    case GgmlType::Q4_1: return each_block(src, n_blocks, 20, QK, dst, dequantize_q4_1);
    case GgmlType::Q5_0: return each_block(src, n_blocks, 22, QK, dst, dequantize_q5_0);
    case GgmlType::Q5_1: return each_block(src, n_blocks, 24, QK, dst, dequantize_q5_1);
    case GgmlType::Q8_0: return each_block(src, n_blocks, 34, QK, dst, dequantize_q8_0);
    case GgmlType::Q2_K: return each_block(src, n_blocks, 84, QK_K, dst, dequantize_q2_k);
    case GgmlType::Q3_K: return each_block(src, n_blocks, 110, QK_K, dst, dequantize_q3_k);
    case GgmlType::Q4_K: return each_block(src, n_blocks, 144, QK_K, dst, dequantize_q4_k);
    case GgmlType::Q5_K: return each_block(src, n_blocks, 176, QK_K, dst, dequantize_q5_k);
    case GgmlType::Q6_K: return each_block(src, n_blocks, 210, QK_K, dst, dequantize_q6_k);
  }
}

}  // namespace eidetic::kernels
