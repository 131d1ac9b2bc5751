// models/roofline.cpp: see roofline.h.
#include "models/roofline.h"

#include <algorithm>

namespace eidetic::models {

int64_t matmul_parameters(const ModelConfig& c) {
  const int64_t H = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  const int64_t per_layer = H * (q + 2 * kv) + q * H + (c.gated_mlp ? 3 : 2) * H * c.intermediate_size;
  return c.num_layers * per_layer + c.vocab_size * H;
}

namespace {

double step_seconds(double bytes, double flops, const Ceilings& k) {
  return std::max(k.bytes_per_second > 0 ? bytes / k.bytes_per_second : 0.0,
                  k.flops_per_second > 0 ? flops / k.flops_per_second : 0.0);
}

double weight_bytes(const ModelConfig& c, int64_t element_bytes) {
  return static_cast<double>(c.parameter_count()) * static_cast<double>(element_bytes);
}

}  // namespace

Floor generation_floor(const ModelConfig& c, int64_t element_bytes, int64_t B, int64_t prompt, int64_t new_tokens,
                       const Ceilings& k) {
  const double W = weight_bytes(c, element_bytes);
  const double mm = static_cast<double>(matmul_parameters(c));
  const double q_dim = static_cast<double>(c.num_heads * c.head_dim);
  const double kv_row = 2.0 * static_cast<double>(c.num_layers * c.num_kv_heads * c.head_dim * element_bytes);
  const double layers = static_cast<double>(c.num_layers);
  Floor f;
  // Prefill: weights once; activations written and read are small next to the weights and
  // the cache it writes (counted).
  const double P = static_cast<double>(prompt), b = static_cast<double>(B);
  double bytes = W + b * P * kv_row;
  double flops = 2.0 * mm * b * P + 2.0 * b * P * P * q_dim * layers;
  f.bytes += bytes;
  f.flops += flops;
  f.seconds += step_seconds(bytes, flops, k);
  for (int64_t t = 1; t < new_tokens; ++t) {
    const double context = P + static_cast<double>(t);
    bytes = W + b * context * kv_row;
    flops = 2.0 * mm * b + 4.0 * b * context * q_dim * layers;
    f.bytes += bytes;
    f.flops += flops;
    f.seconds += step_seconds(bytes, flops, k);
  }
  return f;
}

Floor scoring_floor(const ModelConfig& c, int64_t element_bytes, int64_t B, int64_t T, const Ceilings& k) {
  const double mm = static_cast<double>(matmul_parameters(c));
  const double q_dim = static_cast<double>(c.num_heads * c.head_dim);
  const double b = static_cast<double>(B), t = static_cast<double>(T);
  Floor f;
  // The logits (B x T x V) are written and read once in the model's dtype.
  f.bytes = weight_bytes(c, element_bytes) + 2.0 * b * t * static_cast<double>(c.vocab_size * element_bytes);
  f.flops = 2.0 * mm * b * t + 2.0 * b * t * t * q_dim * static_cast<double>(c.num_layers);
  f.seconds = step_seconds(f.bytes, f.flops, k);
  return f;
}

}  // namespace eidetic::models
