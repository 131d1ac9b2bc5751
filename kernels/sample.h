// kernels/sample.h: one token per row from logits, by temperature, top-k and top-p sampling.
//
// The function, exactly (the CPU twin computes it this way; the kernel computes the same):
//   1. t = the temperature at this step: temperature_start decays linearly to temperature_end
//      over the first temperature_steps steps (Carlini et al.'s 10 -> 1 over 20 tokens), then
//      stays at temperature_end. t <= 0 means greedy: the row's argmax (torch.argmax's rule).
//   2. z = logits / t.
//   3. top-k (k > 0 and k < V): keep the tokens whose logit is >= the k-th largest logit (ties
//      at the boundary are all kept, as Hugging Face's top-k warper does).
//   4. top-p (p < 1): among those, let w_i = exp(z_i - max z), quantized to integers of 2^-40
//      (so that sums are exact and order-free on any device). Keep the tokens with z >= v,
//      where v is the largest value such that the tokens with z >= v hold at least p of the
//      kept mass (and at least one weight unit): the smallest nucleus of that form.
//   5. The token is argmax over kept i of z_i + Gumbel_i, with Gumbel_i = -log(-log(u_i)) and
//      u_i = uniform_open01(random_bits(seed, stream, step, i)) (kernels/rng.h): an exact draw
//      from softmax(z) restricted to the kept tokens, that depends only on seed, stream, step.
// Each row also gets the log-probability of its token under the untempered distribution,
// log_softmax(logits)[token], which attacks rank candidates by.
// No full sort is made: the thresholds come from radix selection over the float bits.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/common.h"
#include "kernels/rng.h"

namespace eidetic::kernels {

struct SampleParams {
  float temperature_start = 1.0f;  // temperature at step 0
  float temperature_end = 1.0f;    // temperature from step temperature_steps on
  int64_t temperature_steps = 0;   // 0: constant temperature_end
  int64_t top_k = 0;               // 0: off
  float top_p = 1.0f;              // >= 1: off
  uint64_t seed = 0;
};

// The temperature at `step` (host and device share this definition). The interpolation is one
// explicit fused multiply-add on both sides: left as `a + b * f`, nvcc contracts it into an FMA
// and the host compiler does not, and the two temperatures would differ in the last bit at
// steps where f is inexact, which can flip a draw between the kernel and its twin.
EIDETIC_HD float temperature_at(const SampleParams& p, int64_t step) {
  if (p.temperature_steps <= 0 || step >= p.temperature_steps) return p.temperature_end;
  const float f = static_cast<float>(step) / static_cast<float>(p.temperature_steps);
  return fmaf(p.temperature_end - p.temperature_start, f, p.temperature_start);
}

// CPU twin.
void sample_tokens_cpu(const void* logits,  // (B, V) of `kind`, row r at r * row_stride
                       FloatKind kind, int64_t B, int64_t V, int64_t row_stride,
                       const int64_t* streams,  // (B) stream id of each row
                       int64_t step, const SampleParams& params,
                       int64_t* tokens,     // (B) chosen token
                       float* logprobs);    // (B) log_softmax(logits)[token]; may be null

#if EIDETIC_WITH_CUDA
// CUDA launcher. `step` is read from device memory so that a captured CUDA graph replays
// each decoding step with the step's own draws.
void sample_tokens(const void* logits,  // (B, V) of `kind`, row r at r * row_stride
                   FloatKind kind, int64_t B, int64_t V, int64_t row_stride,
                   const int64_t* streams,  // (B) device
                   const int64_t* step,     // device scalar
                   const SampleParams& params,
                   int64_t* tokens,   // (B) device
                   float* logprobs,   // (B) device; may be null
                   cudaStream_t stream);
#endif

// Order-preserving map of a float to uint32 (a > b  <=>  key(a) > key(b) for non-NaN floats).
EIDETIC_HD uint32_t float_order_key(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// The quantized weight of step 4 for d = z - max z (<= 0): exp(d) in units of 2^-40, with the
// exponential taken in double so that host and device round to the same integer.
EIDETIC_HD uint64_t quantize_weight(float d) {
  return static_cast<uint64_t>(exp(static_cast<double>(d)) * 1099511627776.0 + 0.5);
}

// The Gumbel noise of step 5 for a uniform draw u, computed in double and rounded to float.
EIDETIC_HD float gumbel_noise(float u) {
  return static_cast<float>(-log(-log(static_cast<double>(u))));
}

}  // namespace eidetic::kernels
