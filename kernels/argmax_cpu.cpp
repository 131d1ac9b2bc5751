// CPU twin of kernels/argmax.cu: a plain loop per row.
#include <cmath>

#include "kernels/argmax.h"

namespace eidetic::kernels {
namespace {

template <typename Load>
void argmax_loop(int64_t B, int64_t V, int64_t row_stride, int64_t* out, Load load) {
  for (int64_t b = 0; b < B; ++b) {
    int64_t best = 0;
    float best_value = load(b * row_stride);
    for (int64_t v = 1; v < V && !std::isnan(best_value); ++v) {
      const float x = load(b * row_stride + v);
      if (std::isnan(x) || x > best_value) {
        best = v;
        best_value = x;
      }
    }
    out[b] = best;
  }
}

}  // namespace

void argmax_rows_cpu(const void* logits, FloatKind kind, int64_t B, int64_t V,
                     int64_t row_stride, int64_t* out) {
  switch (kind) {
    case FloatKind::f32: {
      const auto* p = static_cast<const float*>(logits);
      argmax_loop(B, V, row_stride, out, [p](int64_t i) { return p[i]; });
      break;
    }
    case FloatKind::f16: {
      const auto* p = static_cast<const uint16_t*>(logits);
      argmax_loop(B, V, row_stride, out, [p](int64_t i) { return half_bits_to_float(p[i]); });
      break;
    }
    case FloatKind::bf16: {
      const auto* p = static_cast<const uint16_t*>(logits);
      argmax_loop(B, V, row_stride, out, [p](int64_t i) { return bf16_bits_to_float(p[i]); });
      break;
    }
  }
}

}  // namespace eidetic::kernels
