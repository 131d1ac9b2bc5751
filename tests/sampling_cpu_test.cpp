// The sampler and the fused scorer on the CPU: greedy, determinism, independence from batch
// order, and the sampled distribution against the requested one (chi-square), with the
// expected distribution computed here from libtorch's softmax / topk / sort.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "kernels/sample.h"
#include "kernels/torch_ops.h"

namespace eidetic {
namespace {

using kernels::SampleParams;

at::Tensor step_tensor(int64_t s) { return at::full({1}, s, at::kLong); }

TEST(Sampler, ZeroTemperatureIsGreedy) {
  at::manual_seed(1);
  const at::Tensor logits = at::randn({33, 1000});
  SampleParams p;
  p.temperature_end = 0.f;
  const auto r = ops::sample_tokens(logits, at::arange(33), step_tensor(0), p);
  EXPECT_TRUE(at::equal(r.tokens, logits.argmax(1)));
  const at::Tensor ref = at::log_softmax(logits, 1).gather(1, r.tokens.unsqueeze(1)).squeeze(1);
  // Ours: log-sum-exp in double, rounded to fp32 (<= 0.5 ulp: 2.4e-7 at |lp| <= 4.6). The
  // reference: fp32 log_softmax, whose sum of 1000 exps carries ~sqrt(1000) u ~ 2e-6 of
  // relative rounding in a random-signed accumulation (worst case 1000 u = 6e-5, never
  // approached). 1e-5 + 1e-5 |ref| (1e-5..5.6e-5 here) is 5-25x those; measured: 4.8e-7.
  EXPECT_TRUE(at::allclose(r.logprobs, ref, /*rtol=*/1e-5, /*atol=*/1e-5));
}

TEST(Sampler, TemperatureSchedule) {
  SampleParams p;
  p.temperature_start = 10.f;
  p.temperature_end = 1.f;
  p.temperature_steps = 20;
  EXPECT_FLOAT_EQ(kernels::temperature_at(p, 0), 10.f);   // exact: fmaf(-9, 0, 10)
  EXPECT_FLOAT_EQ(kernels::temperature_at(p, 10), 5.5f);  // exact: fmaf(-9, 10 / 20 = 0.5, 10), no rounding
  EXPECT_FLOAT_EQ(kernels::temperature_at(p, 20), 1.f);   // exact: temperature_end, returned as is
  EXPECT_FLOAT_EQ(kernels::temperature_at(p, 500), 1.f);  // exact: temperature_end, returned as is
}

TEST(Sampler, DependsOnlyOnSeedStreamAndStep) {
  at::manual_seed(2);
  const at::Tensor logits = at::randn({6, 500});
  SampleParams p;
  p.seed = 1234;
  p.top_k = 50;
  const at::Tensor streams = at::tensor({10, 11, 12, 13, 14, 15}, at::kLong);
  const auto a = ops::sample_tokens(logits, streams, step_tensor(3), p);
  const auto b = ops::sample_tokens(logits, streams, step_tensor(3), p);
  EXPECT_TRUE(at::equal(a.tokens, b.tokens));
  // Reversing the batch (rows and their streams together) reverses the draws.
  const at::Tensor rev = at::arange(5, -1, -1);
  const auto c = ops::sample_tokens(logits.index_select(0, rev), streams.index_select(0, rev), step_tensor(3), p);
  EXPECT_TRUE(at::equal(c.tokens, a.tokens.index_select(0, rev)));
  // Another seed or step changes them.
  p.seed = 99;
  EXPECT_FALSE(at::equal(ops::sample_tokens(logits, streams, step_tensor(3), p).tokens, a.tokens));
  p.seed = 1234;
  EXPECT_FALSE(at::equal(ops::sample_tokens(logits, streams, step_tensor(4), p).tokens, a.tokens));
}

// The distribution the sampler must draw from, computed independently.
at::Tensor expected_distribution(const at::Tensor& x, float t, int64_t k, float top_p) {
  const at::Tensor z = x.to(at::kDouble) / t;
  at::Tensor keep = at::ones_like(x, at::kBool);
  if (k > 0 && k < x.size(0)) keep = x >= std::get<0>(at::topk(x, k)).select(0, k - 1);
  at::Tensor prob = at::softmax(z.masked_fill(~keep, -INFINITY), 0);
  if (top_p < 1.f) {
    const auto [sorted, order] = at::sort(prob, 0, /*descending=*/true);
    const at::Tensor cum = at::cumsum(sorted, 0);
    // The smallest prefix reaching top_p, then every token tied with its last member.
    // 1e-12: far above the rounding of a double cumsum of 12 terms (~1e-15), far below any
    // nonzero probability here (>= 1e-3), so a prefix whose mass equals top_p up to rounding
    // counts as reaching it.
    const int64_t last = (cum < top_p - 1e-12).sum().item<int64_t>();
    const double boundary = sorted[std::min<int64_t>(last, x.size(0) - 1)].item<double>();
    // 1e-15: tied logits give double probabilities equal up to a few ulp (~1e-17); distinct
    // logits here differ by >= 0.05, so their probabilities by >= 1e-3.
    keep = keep & (prob >= boundary - 1e-15);
    prob = at::softmax(z.masked_fill(~keep, -INFINITY), 0);
  }
  return prob;
}

void chi_square_check(float t, int64_t k, float top_p) {
  const int64_t V = 12, draws = 60000;
  const at::Tensor x = at::tensor({2.0, 1.5, 1.4, 0.3, 0.0, -0.5, -1.0, 1.0, 0.9, -2.0, 0.2, 1.45}, at::kFloat);
  SampleParams p;
  p.temperature_start = p.temperature_end = t;
  p.top_k = k;
  p.top_p = top_p;
  p.seed = 42;
  const auto r = ops::sample_tokens(x.unsqueeze(0).expand({draws, V}), at::arange(draws), step_tensor(7), p);
  const at::Tensor counts = at::bincount(r.tokens, {}, V).to(at::kDouble);
  const at::Tensor expected = expected_distribution(x, t, k, top_p) * draws;
  double chi2 = 0;
  int df = -1;
  for (int64_t i = 0; i < V; ++i) {
    const double e = expected[i].item<double>(), o = counts[i].item<double>();
    if (e == 0) {
      EXPECT_EQ(o, 0) << "token " << i << " is outside the kept set but was drawn";
      continue;
    }
    chi2 += (o - e) * (o - e) / e;
    ++df;
  }
  // Critical values of chi-square at p = 0.001 for df = 1..11.
  const double critical[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26};
  ASSERT_GE(df, 1);
  EXPECT_LT(chi2, critical[df]) << "t=" << t << " k=" << k << " p=" << top_p << " df=" << df;
}

TEST(Sampler, DistributionMatchesTemperature) { chi_square_check(1.0f, 0, 1.0f); }
TEST(Sampler, DistributionMatchesLowTemperatureTopK) { chi_square_check(0.7f, 3, 1.0f); }
TEST(Sampler, DistributionMatchesTopP) { chi_square_check(1.3f, 0, 0.8f); }
TEST(Sampler, DistributionMatchesTopKThenTopP) { chi_square_check(1.0f, 6, 0.6f); }

TEST(Sampler, TopKKeepsTiesAtTheBoundary) {
  // Logits 3, 2, 2, 2, 1 with k = 2: the 2nd largest is 2, so all three 2s stay.
  const at::Tensor x = at::tensor({3.f, 2.f, 2.f, 2.f, 1.f}).unsqueeze(0).expand({20000, 5});
  SampleParams p;
  p.top_k = 2;
  const auto r = ops::sample_tokens(x, at::arange(20000), step_tensor(0), p);
  const at::Tensor counts = at::bincount(r.tokens, {}, 5);
  EXPECT_GT(counts[3].item<int64_t>(), 0);
  EXPECT_EQ(counts[4].item<int64_t>(), 0);
}

TEST(Sampler, RejectsBadArguments) {
  SampleParams p;
  p.top_p = 0.f;
  EXPECT_THROW(ops::sample_tokens(at::zeros({2, 4}), at::arange(2), step_tensor(0), p), Error);
  p.top_p = 1.f;
  EXPECT_THROW(ops::sample_tokens(at::zeros({2, 4}), at::arange(3), step_tensor(0), p), Error);
}

TEST(TokenScores, MatchLogSoftmaxEntropyAndRank) {
  at::manual_seed(5);
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    const at::Tensor logits = (at::randn({37, 3001}) * 3).to(dtype);
    const at::Tensor targets = at::randint(0, 3001, {37});
    const auto s = ops::token_logprobs(logits, targets, true, true);
    const at::Tensor x = logits.to(at::kDouble);
    const at::Tensor logp = at::log_softmax(x, 1);
    const at::Tensor ref = logp.gather(1, targets.unsqueeze(1)).squeeze(1);
    const at::Tensor ref_entropy = -(logp.exp() * logp).sum(1);
    const at::Tensor xt = x.gather(1, targets.unsqueeze(1));
    const at::Tensor ref_rank = (x > xt).sum(1) + 1;
    // Both sides compute in double from the same (already rounded) logits; ours is rounded to
    // fp32 at the end: |ours - ref| <= 2^-24 |ref| (6e-8 relative) plus double rounding (~1e-15).
    // rtol 1e-6 is 17x that bound (measured: 5.8e-8 relative); no atol: every value here is far
    // from 0 (|log-prob| >= 2.5, entropy >= 1.6), so the relative bound alone applies.
    EXPECT_TRUE(at::allclose(s.logprob.to(at::kDouble), ref, /*rtol=*/1e-6, /*atol=*/0)) << c10::toString(dtype);
    EXPECT_TRUE(at::allclose(s.entropy.to(at::kDouble), ref_entropy, /*rtol=*/1e-6, /*atol=*/0)) << c10::toString(dtype);
    EXPECT_TRUE(at::equal(s.rank, ref_rank)) << c10::toString(dtype);
  }
}

TEST(TokenScores, TargetOutsideTheVocabularyIsAnError) {
  EXPECT_THROW(ops::token_logprobs(at::zeros({2, 4}), at::tensor({1, 4}, at::kLong), false, false), Error);
}

}  // namespace
}  // namespace eidetic
