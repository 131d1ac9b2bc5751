// GPU tests: every CUDA kernel held equal to its CPU twin on fresh random inputs (ties, NaN,
// odd sizes, strided rows), with the device output poisoned before each launch so that an
// unwritten element cannot pass. They skip when no device is present.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>
#include <tuple>
#include <vector>

#include "kernels/common.h"
#include "test_util.h"

#if EIDETIC_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/argmax.h"
#include "kernels/match.h"
#include "kernels/sample.h"
#include "kernels/token_logprob.h"
#include "kernels/torch_ops.h"
#endif

namespace eidetic {
namespace {

#if EIDETIC_WITH_CUDA
using kernels::FloatKind;

FloatKind kind_of(at::ScalarType t) {
  return t == at::kFloat ? FloatKind::f32 : t == at::kHalf ? FloatKind::f16 : FloatKind::bf16;
}

class ArgmaxGpu : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(ArgmaxGpu, KernelEqualsTwin) {
  EIDETIC_REQUIRE_GPU();
  const auto [B, V] = GetParam();
  const auto stream = at::cuda::getCurrentCUDAStream().stream();
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    for (int trial = 0; trial < 3; ++trial) {
      // trial 0: continuous values; 1: few levels (ties); 2: ties plus NaN and infinities.
      at::Tensor host = trial == 0 ? at::randn({B, V + 3}) * 4
                                   : at::randint(-3, 3, {B, V + 3}).to(at::kFloat);
      if (trial == 2) {
        const at::Tensor u = at::rand({B, V + 3});
        host.masked_fill_(u < 0.001, std::numeric_limits<float>::quiet_NaN());
        host.masked_fill_((u >= 0.001) & (u < 0.002), std::numeric_limits<float>::infinity());
      }
      host = host.to(dtype);
      const at::Tensor rows = host.slice(1, 0, V);  // rows V + 3 apart: strided
      std::vector<int64_t> expected(B);
      kernels::argmax_rows_cpu(rows.const_data_ptr(), kind_of(dtype), B, V, V + 3,
                               expected.data());

      const at::Tensor device = host.cuda();
      at::Tensor out = at::full({B}, -7, device.options().dtype(at::kLong));  // poison
      kernels::argmax_rows(device.const_data_ptr(), kind_of(dtype), B, V, V + 3,
                           out.mutable_data_ptr<int64_t>(), stream);
      const at::Tensor got = out.cpu();
      for (int64_t b = 0; b < B; ++b)
        ASSERT_EQ(got[b].item<int64_t>(), expected[b])
            << c10::toString(dtype) << " trial " << trial << " row " << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ArgmaxGpu,
                         ::testing::Values(std::tuple<int64_t, int64_t>{1, 1},
                                           std::tuple<int64_t, int64_t>{3, 7},
                                           std::tuple<int64_t, int64_t>{33, 511},
                                           std::tuple<int64_t, int64_t>{130, 50257},
                                           std::tuple<int64_t, int64_t>{7, 100003},
                                           std::tuple<int64_t, int64_t>{1024, 32000}));

class MatchGpu : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(MatchGpu, KernelEqualsTwin) {
  EIDETIC_REQUIRE_GPU();
  const auto [B, N] = GetParam();
  const auto stream = at::cuda::getCurrentCUDAStream().stream();
  const at::Tensor target_wide = at::randint(0, 50257, {B, N + 5}, at::kLong);
  at::Tensor generated = target_wide.slice(1, 0, N).clone();
  // Break rows at random places; leave about a quarter whole.
  const at::Tensor cut = at::randint(0, N + N / 3 + 2, {B});
  for (int64_t b = 0; b < B; ++b) {
    const int64_t c = cut[b].item<int64_t>();
    if (c < N) generated[b][c] = -1;
  }
  const at::Tensor target = target_wide.slice(1, 0, N);  // strided rows
  std::vector<int64_t> lcp_cpu(B);
  std::vector<char> exact_cpu(B);
  kernels::match_tokens_cpu(generated.const_data_ptr<int64_t>(), N, target.const_data_ptr<int64_t>(),
                            N + 5, B, N, lcp_cpu.data(), reinterpret_cast<bool*>(exact_cpu.data()));

  const at::Tensor g = generated.cuda();
  const at::Tensor t = target_wide.cuda();
  at::Tensor lcp = at::full({B}, -7, g.options());
  at::Tensor exact = at::full({B}, 1, g.options().dtype(at::kByte));
  exact.fill_(7);  // poison: neither true nor false
  kernels::match_tokens(g.const_data_ptr<int64_t>(), N, t.const_data_ptr<int64_t>(), N + 5, B, N,
                        lcp.mutable_data_ptr<int64_t>(),
                        reinterpret_cast<bool*>(exact.mutable_data_ptr<uint8_t>()), stream);
  const at::Tensor lcp_host = lcp.cpu();
  const at::Tensor exact_host = exact.cpu();
  for (int64_t b = 0; b < B; ++b) {
    ASSERT_EQ(lcp_host[b].item<int64_t>(), lcp_cpu[b]) << "row " << b;
    ASSERT_EQ(exact_host[b].item<uint8_t>(), exact_cpu[b] ? 1 : 0) << "row " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatchGpu,
                         ::testing::Values(std::tuple<int64_t, int64_t>{1, 1},
                                           std::tuple<int64_t, int64_t>{5, 0},
                                           std::tuple<int64_t, int64_t>{7, 31},
                                           std::tuple<int64_t, int64_t>{9, 32},
                                           std::tuple<int64_t, int64_t>{65, 50},
                                           std::tuple<int64_t, int64_t>{1000, 64},
                                           std::tuple<int64_t, int64_t>{3, 1001}));

// The sampler: tokens equal to the twin's for every row, across dtypes and settings, with the
// device outputs poisoned first; log-probabilities within float rounding of the twin's.
class SampleGpu : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(SampleGpu, KernelEqualsTwin) {
  EIDETIC_REQUIRE_GPU();
  const auto [B, V] = GetParam();
  const auto stream = at::cuda::getCurrentCUDAStream().stream();
  struct Case { float t0, t1; int64_t steps, k; float p; };
  const Case cases[] = {{0.f, 0.f, 0, 0, 1.f},  {1.f, 1.f, 0, 0, 1.f},   {0.7f, 0.7f, 0, 40, 1.f},
                        {1.f, 1.f, 0, 0, 0.9f}, {1.2f, 1.2f, 0, 10, 0.5f}, {10.f, 1.f, 20, 40, 1.f}};
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    for (const Case& c : cases) {
      kernels::SampleParams p;
      p.temperature_start = c.t0;
      p.temperature_end = c.t1;
      p.temperature_steps = c.steps;
      p.top_k = c.k;
      p.top_p = c.p;
      p.seed = 77;
      const int64_t step = 5;
      const at::Tensor host = (at::randn({B, V}) * 3).to(dtype);
      const at::Tensor streams = at::randint(0, 1 << 30, {B}, at::kLong);
      std::vector<int64_t> expected(B);
      std::vector<float> expected_lp(B);
      kernels::sample_tokens_cpu(host.const_data_ptr(), kind_of(dtype), B, V, V, streams.const_data_ptr<int64_t>(), step,
                                 p, expected.data(), expected_lp.data());
      const at::Tensor d_logits = host.cuda(), d_streams = streams.cuda();
      const at::Tensor d_step = at::full({1}, step, d_streams.options());
      at::Tensor tokens = at::full({B}, -7, d_streams.options());
      at::Tensor lp = at::full({B}, std::nanf(""), d_logits.options().dtype(at::kFloat));
      kernels::sample_tokens(d_logits.const_data_ptr(), kind_of(dtype), B, V, V, d_streams.const_data_ptr<int64_t>(),
                             d_step.const_data_ptr<int64_t>(), p, tokens.mutable_data_ptr<int64_t>(),
                             lp.mutable_data_ptr<float>(), stream);
      const at::Tensor got = tokens.cpu(), got_lp = lp.cpu();
      for (int64_t b = 0; b < B; ++b) {
        ASSERT_EQ(got[b].item<int64_t>(), expected[b])
            << c10::toString(dtype) << " t=" << c.t0 << " k=" << c.k << " p=" << c.p << " row " << b;
        ASSERT_NEAR(got_lp[b].item<float>(), expected_lp[b], 1e-4f + 1e-5f * std::abs(expected_lp[b]));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SampleGpu,
                         ::testing::Values(std::tuple<int64_t, int64_t>{1, 7}, std::tuple<int64_t, int64_t>{17, 513},
                                           std::tuple<int64_t, int64_t>{64, 50257},
                                           std::tuple<int64_t, int64_t>{5, 128256}));

TEST(SampleGpuDeterminism, SameDrawsEveryRun) {
  EIDETIC_REQUIRE_GPU();
  kernels::SampleParams p;
  p.top_p = 0.95f;
  p.seed = 3;
  const at::Tensor logits = at::randn({512, 50257}, at::TensorOptions().device(at::kCUDA).dtype(at::kHalf));
  const at::Tensor streams = at::arange(512, logits.options().dtype(at::kLong));
  const at::Tensor step = at::zeros({1}, streams.options());
  const auto a = ops::sample_tokens(logits, streams, step, p);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(at::equal(ops::sample_tokens(logits, streams, step, p).tokens, a.tokens));
}

class TokenLogprobGpu : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(TokenLogprobGpu, KernelEqualsTwin) {
  EIDETIC_REQUIRE_GPU();
  const auto [N, V] = GetParam();
  const auto stream = at::cuda::getCurrentCUDAStream().stream();
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    const at::Tensor host = (at::randn({N, V}) * 4).to(dtype);
    const at::Tensor targets = at::randint(0, V, {N}, at::kLong);
    std::vector<float> lp(N), ent(N);
    std::vector<int64_t> rank(N);
    kernels::token_logprobs_cpu(host.const_data_ptr(), kind_of(dtype), N, V, V, targets.const_data_ptr<int64_t>(),
                                lp.data(), ent.data(), rank.data());
    const at::Tensor d = host.cuda(), dt = targets.cuda();
    at::Tensor d_lp = at::full({N}, std::nanf(""), d.options().dtype(at::kFloat));
    at::Tensor d_ent = at::full({N}, std::nanf(""), d.options().dtype(at::kFloat));
    at::Tensor d_rank = at::full({N}, -1, dt.options());
    kernels::token_logprobs(d.const_data_ptr(), kind_of(dtype), N, V, V, dt.const_data_ptr<int64_t>(),
                            d_lp.mutable_data_ptr<float>(), d_ent.mutable_data_ptr<float>(),
                            d_rank.mutable_data_ptr<int64_t>(), stream);
    const at::Tensor g_lp = d_lp.cpu(), g_ent = d_ent.cpu(), g_rank = d_rank.cpu();
    for (int64_t n = 0; n < N; ++n) {
      ASSERT_NEAR(g_lp[n].item<float>(), lp[n], 2e-4f + 1e-5f * std::abs(lp[n])) << "row " << n;
      ASSERT_NEAR(g_ent[n].item<float>(), ent[n], 2e-4f + 1e-5f * std::abs(ent[n])) << "row " << n;
      ASSERT_EQ(g_rank[n].item<int64_t>(), rank[n]) << "row " << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TokenLogprobGpu,
                         ::testing::Values(std::tuple<int64_t, int64_t>{1, 1}, std::tuple<int64_t, int64_t>{7, 333},
                                           std::tuple<int64_t, int64_t>{300, 50257},
                                           std::tuple<int64_t, int64_t>{9, 128256}));

#else
TEST(KernelsGpu, NeedsCudaBuild) { EIDETIC_REQUIRE_GPU(); }
#endif

}  // namespace
}  // namespace eidetic
