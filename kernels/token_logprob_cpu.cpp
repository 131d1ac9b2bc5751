// CPU twin of kernels/token_logprob.cu: two plain passes per row, accumulated in double.
#include <cmath>

#include "kernels/token_logprob.h"

namespace eidetic::kernels {

void token_logprobs_cpu(const void* logits, FloatKind kind, int64_t N, int64_t V, int64_t row_stride,
                        const int64_t* targets, float* logprob, float* entropy, int64_t* rank) {
  const size_t esize = kind == FloatKind::f32 ? 4 : 2;
  auto load = [&](const void* row, int64_t i) -> double {
    switch (kind) {
      case FloatKind::f32: return static_cast<const float*>(row)[i];
      case FloatKind::f16: return half_bits_to_float(static_cast<const uint16_t*>(row)[i]);
      case FloatKind::bf16: return bf16_bits_to_float(static_cast<const uint16_t*>(row)[i]);
    }
    return 0;
  };
  for (int64_t n = 0; n < N; ++n) {
    const void* row = static_cast<const char*>(logits) + n * row_stride * esize;
    double m = -INFINITY;
    for (int64_t i = 0; i < V; ++i) m = std::max(m, load(row, i));
    const double xt = load(row, targets[n]);
    double sum = 0, weighted = 0;
    int64_t greater = 0;
    for (int64_t i = 0; i < V; ++i) {
      const double x = load(row, i);
      const double e = std::exp(x - m);
      sum += e;
      weighted += e * (x - m);
      greater += x > xt;
    }
    const double log_sum = std::log(sum);
    logprob[n] = static_cast<float>(xt - m - log_sum);
    if (entropy) entropy[n] = static_cast<float>(log_sum - weighted / sum);
    if (rank) rank[n] = greater + 1;
  }
}

}  // namespace eidetic::kernels
