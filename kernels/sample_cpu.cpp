// CPU twin of kernels/sample.cu: the definition in sample.h, computed plainly.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/argmax.h"
#include "kernels/sample.h"

namespace eidetic::kernels {
namespace {

float load(const void* base, FloatKind kind, int64_t i) {
  switch (kind) {
    case FloatKind::f32: return static_cast<const float*>(base)[i];
    case FloatKind::f16: return half_bits_to_float(static_cast<const uint16_t*>(base)[i]);
    case FloatKind::bf16: return bf16_bits_to_float(static_cast<const uint16_t*>(base)[i]);
  }
  return 0.f;
}

}  // namespace

void sample_tokens_cpu(const void* logits, FloatKind kind, int64_t B, int64_t V, int64_t row_stride,
                       const int64_t* streams, int64_t step, const SampleParams& p, int64_t* tokens,
                       float* logprobs) {
  const size_t esize = kind == FloatKind::f32 ? 4 : 2;
  const float t = temperature_at(p, step);
  std::vector<float> x(V), z(V);
  std::vector<uint32_t> keys;
  std::vector<char> kept(V);
  for (int64_t b = 0; b < B; ++b) {
    const void* row = static_cast<const char*>(logits) + b * row_stride * esize;
    for (int64_t i = 0; i < V; ++i) x[i] = load(row, kind, i);
    int64_t token = 0;
    if (!(t > 0.f)) {
      argmax_rows_cpu(row, kind, 1, V, V, &token);
    } else {
      float zmax = -INFINITY;
      for (int64_t i = 0; i < V; ++i) {
        z[i] = x[i] / t;
        zmax = std::max(zmax, z[i]);
      }
      std::fill(kept.begin(), kept.end(), 1);
      // top-k: logit >= the k-th largest logit.
      if (p.top_k > 0 && p.top_k < V) {
        keys.resize(V);
        for (int64_t i = 0; i < V; ++i) keys[i] = float_order_key(x[i]);
        std::nth_element(keys.begin(), keys.begin() + (p.top_k - 1), keys.end(), std::greater<>());
        const uint32_t threshold = keys[p.top_k - 1];
        for (int64_t i = 0; i < V; ++i) kept[i] = float_order_key(x[i]) >= threshold;
      }
      // top-p: the smallest set {z >= v} holding at least p of the kept (quantized) mass.
      if (p.top_p < 1.0f) {
        std::vector<std::pair<uint32_t, uint64_t>> cand;  // (key of z, weight)
        uint64_t total = 0;
        for (int64_t i = 0; i < V; ++i)
          if (kept[i]) {
            const uint64_t w = quantize_weight(z[i] - zmax);
            cand.emplace_back(float_order_key(z[i]), w);
            total += w;
          }
        const uint64_t target = std::max<uint64_t>(
            1, static_cast<uint64_t>(std::ceil(static_cast<double>(p.top_p) * static_cast<double>(total))));
        std::sort(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        uint64_t mass = 0;
        uint32_t threshold = cand.empty() ? 0 : cand.back().first;
        for (size_t j = 0; j < cand.size();) {
          size_t e = j;  // all ties at this key enter together
          while (e < cand.size() && cand[e].first == cand[j].first) mass += cand[e++].second;
          if (mass >= target) {
            threshold = cand[j].first;
            break;
          }
          j = e;
        }
        for (int64_t i = 0; i < V; ++i) kept[i] = kept[i] && float_order_key(z[i]) >= threshold;
      }
      // Gumbel-max over the kept tokens.
      float best = -INFINITY;
      token = -1;
      for (int64_t i = 0; i < V; ++i) {
        if (!kept[i]) continue;
        const float u = uniform_open01(random_bits(p.seed, static_cast<uint64_t>(streams[b]), static_cast<uint64_t>(step),
                                                   static_cast<uint64_t>(i)));
        const float s = z[i] + gumbel_noise(u);
        if (token < 0 || s > best) {
          best = s;
          token = i;
        }
      }
    }
    tokens[b] = token;
    if (logprobs) {
      float m = -INFINITY;
      for (int64_t i = 0; i < V; ++i) m = std::max(m, x[i]);
      double sum = 0;
      for (int64_t i = 0; i < V; ++i) sum += std::exp(static_cast<double>(x[i] - m));
      logprobs[b] = static_cast<float>(static_cast<double>(x[token] - m) - std::log(sum));
    }
  }
}

}  // namespace eidetic::kernels
