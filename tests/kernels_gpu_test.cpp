// GPU tests: every CUDA kernel held equal to its CPU twin on fresh random inputs (ties, NaN,
// odd sizes, strided rows), with the device output poisoned before each launch so that an
// unwritten element cannot pass. They skip when no device is present.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/common.h"
#include "test_util.h"

#if EIDETIC_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "kernels/argmax.h"
#include "kernels/dequant.h"
#include "kernels/match.h"
#include "kernels/sample.h"
#include "kernels/token_logprob.h"
#include "kernels/torch_ops.h"

namespace eidetic::kernels {
// GoogleTest prints a GgmlType parameter (and CTest shows it) by ggml's name.
inline void PrintTo(GgmlType type, std::ostream* os) {
  const char* name = ggml_type_name(static_cast<int32_t>(type));
  *os << (name ? name : "?");
}
}  // namespace eidetic::kernels
#endif

namespace eidetic {
namespace {

#if EIDETIC_WITH_CUDA
using kernels::FloatKind;

FloatKind kind_of(at::ScalarType t) {
  return t == at::kFloat ? FloatKind::f32 : t == at::kHalf ? FloatKind::f16 : FloatKind::bf16;
}

// Strided layout with poisoned padding: the (B, V) rows sit at columns [kLead, kLead + V) of a
// (B, V + kPad) buffer whose other columns all hold `poison`, so the kernels get a pointer kLead
// elements into the buffer and a row stride of V + kPad, as for a slice of a wider tensor. Lead
// and stride are odd, so rows start at every alignment. A kernel that reads past V or steps
// rows by V instead of the stride meets the poison.
constexpr int64_t kLead = 3;
constexpr int64_t kPad = 8;

at::Tensor poisoned_wide(const at::Tensor& rows, float poison) {
  const int64_t B = rows.size(0), V = rows.size(1);
  at::Tensor wide = at::full({B, V + kPad}, poison, rows.options());
  wide.slice(1, kLead, kLead + V).copy_(rows);
  return wide;
}

// Logits with many exact ties. Pattern 0: seven levels (-2.25 .. 2.25 in steps of 0.75), so
// every tie group is about V / 7 tokens wide; pattern 1: a normal rounded to multiples of 0.5
// (about 40 levels, small tie groups near the top, where top-k and top-p draw their lines).
// Row 0 is constant: every token ties. All values are multiples of 0.25 below 32 in magnitude,
// exact in float32, float16 and bfloat16, so the ties survive the cast to `dtype`.
at::Tensor tied_logits(int64_t B, int64_t V, int pattern, at::ScalarType dtype) {
  at::Tensor x = pattern == 0 ? at::randint(-3, 4, {B, V}).to(at::kFloat) * 0.75
                              : at::round(at::randn({B, V}) * 4).clamp(-60, 60) * 0.5;
  x[0].fill_(1.5);
  return x.to(dtype);
}

// A kernel test over (rows, columns) shapes: skipped without a GPU, and given the current
// CUDA stream to launch on.
using Shape = std::tuple<int64_t, int64_t>;

class GpuShapeTest : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    EIDETIC_REQUIRE_GPU();
    stream = at::cuda::getCurrentCUDAStream().stream();
  }
  cudaStream_t stream = nullptr;
};

class ArgmaxGpu : public GpuShapeTest {};

TEST_P(ArgmaxGpu, KernelEqualsTwin) {
  const auto [B, V] = GetParam();
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

// Strided rows starting inside a wider buffer whose padding holds NaN or +inf, values that win
// every argmax: a kernel that reads one padding element answers wrongly. Rows whose answer the
// tie rule fixes (smallest index among equals) check the rule itself, beside the twin: a
// constant row and an all -inf row answer 0, a row whose only maximum is its last element
// answers V - 1. The bridge (ops::argmax_rows) gets the strided view and must pass its stride
// through to the same answer.
TEST_P(ArgmaxGpu, StridedSliceIgnoresPoisonedPadding) {
  const auto [B, V] = GetParam();
  const int64_t S = V + kPad;
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    for (const float poison : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      at::Tensor rows = at::randint(-3, 3, {B, V}).to(at::kFloat);  // six levels: ties everywhere
      std::vector<int64_t> known(B, -1);  // the answer fixed by the tie rule, where there is one
      for (int64_t b = 0; b < B; ++b) {
        switch (b % 4) {
          case 0: rows[b].fill_(2.0); known[b] = 0; break;
          case 1: rows[b].fill_(-std::numeric_limits<float>::infinity()); known[b] = 0; break;
          case 2: rows[b][V - 1] = 5.0; known[b] = V - 1; break;
          default: break;
        }
      }
      const at::Tensor host = poisoned_wide(rows.to(dtype), poison);
      std::vector<int64_t> expected(B);
      kernels::argmax_rows_cpu(host.slice(1, kLead, kLead + V).const_data_ptr(), kind_of(dtype), B, V, S,
                               expected.data());

      const at::Tensor device = host.cuda();
      const at::Tensor view = device.slice(1, kLead, kLead + V);
      at::Tensor out = at::full({B}, -7, device.options().dtype(at::kLong));  // poison
      kernels::argmax_rows(view.const_data_ptr(), kind_of(dtype), B, V, S, out.mutable_data_ptr<int64_t>(), stream);
      const at::Tensor got = out.cpu();
      const at::Tensor bridged = ops::argmax_rows(view).cpu();
      for (int64_t b = 0; b < B; ++b) {
        const std::string where = std::string(c10::toString(dtype)) + " poison " + std::to_string(poison) + " row " +
                                  std::to_string(b);
        if (known[b] >= 0) {
          ASSERT_EQ(expected[b], known[b]) << "twin, " << where;
        }
        ASSERT_EQ(got[b].item<int64_t>(), expected[b]) << where;
        ASSERT_EQ(bridged[b].item<int64_t>(), expected[b]) << "bridge, " << where;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ArgmaxGpu,
                         ::testing::Values(Shape{1, 1}, Shape{3, 7}, Shape{33, 511}, Shape{130, 50257},
                                           Shape{7, 100003}, Shape{1024, 32000}));

class MatchGpu : public GpuShapeTest {};

TEST_P(MatchGpu, KernelEqualsTwin) {
  const auto [B, N] = GetParam();
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
                         ::testing::Values(Shape{1, 1}, Shape{5, 0}, Shape{7, 31}, Shape{9, 32}, Shape{65, 50},
                                           Shape{1000, 64}, Shape{3, 1001}));

// The sampler: tokens equal to the twin's for every row, across dtypes and settings, with the
// device outputs poisoned first; log-probabilities within float rounding of the twin's.
class SampleGpu : public GpuShapeTest {};

// The sampler's settings for one case, drawn with seed 77 as every sampler test here is.
kernels::SampleParams sample_params(float t0, float t1, int64_t steps, int64_t k, float p) {
  kernels::SampleParams params;
  params.temperature_start = t0;
  params.temperature_end = t1;
  params.temperature_steps = steps;
  params.top_k = k;
  params.top_p = p;
  params.seed = 77;
  return params;
}

TEST_P(SampleGpu, KernelEqualsTwin) {
  const auto [B, V] = GetParam();
  struct Case { float t0, t1; int64_t steps, k; float p; };
  const Case cases[] = {{0.f, 0.f, 0, 0, 1.f},  {1.f, 1.f, 0, 0, 1.f},   {0.7f, 0.7f, 0, 40, 1.f},
                        {1.f, 1.f, 0, 0, 0.9f}, {1.2f, 1.2f, 0, 10, 0.5f}, {10.f, 1.f, 20, 40, 1.f}};
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    for (const Case& c : cases) {
      const kernels::SampleParams p = sample_params(c.t0, c.t1, c.steps, c.k, c.p);
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

// One sampler setting and the step it is drawn at.
struct SampleCase {
  float t0, t1;
  int64_t steps, k;
  float p;
  int64_t step;
};

std::string describe(const SampleCase& c, at::ScalarType dtype) {
  return std::string(c10::toString(dtype)) + " t=" + std::to_string(c.t0) + "->" + std::to_string(c.t1) + "/" +
         std::to_string(c.steps) + " k=" + std::to_string(c.k) + " p=" + std::to_string(c.p) + " step " +
         std::to_string(c.step);
}

// The kernel on the (B, V) rows at columns [kLead, kLead + V) of `host_wide` (row stride its
// width), against the twin on the same host rows: the same token for every row, inside [0, V),
// and the log-probability within float rounding. The bridge (ops::sample_tokens) on the strided
// device view must give the kernel's results exactly.
void expect_sample_equals_twin(const at::Tensor& host_wide, int64_t V, const SampleCase& c) {
  const int64_t B = host_wide.size(0), S = host_wide.size(1);
  const at::ScalarType dtype = host_wide.scalar_type();
  const auto stream = at::cuda::getCurrentCUDAStream().stream();
  const kernels::SampleParams p = sample_params(c.t0, c.t1, c.steps, c.k, c.p);
  const at::Tensor streams = at::randint(0, 1 << 30, {B}, at::kLong);
  std::vector<int64_t> expected(B);
  std::vector<float> expected_lp(B);
  kernels::sample_tokens_cpu(host_wide.slice(1, kLead, kLead + V).const_data_ptr(), kind_of(dtype), B, V, S,
                             streams.const_data_ptr<int64_t>(), c.step, p, expected.data(), expected_lp.data());

  const at::Tensor d_wide = host_wide.cuda(), d_streams = streams.cuda();
  const at::Tensor d_rows = d_wide.slice(1, kLead, kLead + V);
  const at::Tensor d_step = at::full({1}, c.step, d_streams.options());
  at::Tensor tokens = at::full({B}, -7, d_streams.options());                          // poison
  at::Tensor lp = at::full({B}, std::nanf(""), d_wide.options().dtype(at::kFloat));  // poison
  kernels::sample_tokens(d_rows.const_data_ptr(), kind_of(dtype), B, V, S, d_streams.const_data_ptr<int64_t>(),
                         d_step.const_data_ptr<int64_t>(), p, tokens.mutable_data_ptr<int64_t>(),
                         lp.mutable_data_ptr<float>(), stream);
  const auto bridged = ops::sample_tokens(d_rows, d_streams, d_step, p);
  const at::Tensor got = tokens.cpu(), got_lp = lp.cpu();
  const at::Tensor got_bridge = bridged.tokens.cpu(), got_bridge_lp = bridged.logprobs.cpu();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t t = got[b].item<int64_t>();
    ASSERT_TRUE(t >= 0 && t < V) << describe(c, dtype) << " row " << b << " chose " << t << ", outside [0, " << V
                                 << ")";
    ASSERT_EQ(t, expected[b]) << describe(c, dtype) << " row " << b;
    // The kernel sums exp(x - max) in float (runs of V / 512 terms per thread, then a fixed
    // tree), the twin in double: relative error of the sum at most about (V / 512 + 9) float
    // epsilons, under 3.1e-5 for V = 128256, which is the absolute error of log(sum). 1e-4
    // covers that plus expf/logf ulps; 1e-5 relative covers rounding a large |log p| to float.
    ASSERT_NEAR(got_lp[b].item<float>(), expected_lp[b], 1e-4f + 1e-5f * std::abs(expected_lp[b]))
        << describe(c, dtype) << " row " << b;
    // Same kernel, same inputs, fixed reduction order: bit-identical.
    ASSERT_EQ(got_bridge[b].item<int64_t>(), t) << "bridge, " << describe(c, dtype) << " row " << b;
    ASSERT_EQ(got_bridge_lp[b].item<float>(), got_lp[b].item<float>()) << "bridge, " << describe(c, dtype);
  }
}

// Schedule steps are 0, 10 and 25 of 20, where the temperature is 10, 5.5 and 1 exactly (the
// interpolation fraction is 0, 0.5, past the end), so host and device agree on it to the bit.
const SampleCase kStridedCases[] = {
    {0.f, 0.f, 0, 0, 1.f, 5},     {1.f, 1.f, 0, 0, 1.f, 5},       {0.7f, 0.7f, 0, 40, 1.f, 5},
    {1.f, 1.f, 0, 0, 0.9f, 5},    {1.2f, 1.2f, 0, 10, 0.5f, 5},   {10.f, 1.f, 20, 40, 1.f, 0},
    {10.f, 1.f, 20, 0, 0.9f, 10}, {10.f, 1.f, 20, 40, 0.9f, 25}};

// Strided rows inside a wider buffer whose padding holds 1e4, far above any real logit (|x| <
// 30 here): read by mistake, it would win greedy, top-k, top-p and the draw, and shift the
// maximum behind the log-probability.
TEST_P(SampleGpu, StridedRowsIgnorePoisonedPadding) {
  const auto [B, V] = GetParam();
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16})
    for (const SampleCase& c : kStridedCases) {
      const at::Tensor host = poisoned_wide((at::randn({B, V}) * 3).to(dtype), 1e4f);
      ASSERT_NO_FATAL_FAILURE(expect_sample_equals_twin(host, V, c));
    }
}

// Quantized logits with many exact ties, in the strided poisoned layout. The twin's tie rules
// (kernels/sample.h) are what the kernel must reproduce: greedy takes the smallest index among
// the maxima; top-k keeps every token tied with the k-th largest (k = 1 keeps the whole top tie
// group, not one token of it); top-p lets a tie group into the nucleus whole (p = 0.01 keeps
// exactly the top group); the draw breaks equal scores towards the smaller index.
TEST_P(SampleGpu, TiedLogitsEqualTwin) {
  const auto [B, V] = GetParam();
  const SampleCase cases[] = {{0.f, 0.f, 0, 0, 1.f, 3},      {1.f, 1.f, 0, 1, 1.f, 3},
                              {1.f, 1.f, 0, 40, 1.f, 3},     {1.f, 1.f, 0, 0, 0.9f, 3},
                              {1.f, 1.f, 0, 0, 0.01f, 3},    {0.7f, 0.7f, 0, 10, 0.5f, 3},
                              {10.f, 1.f, 20, 40, 0.9f, 10}, {10.f, 1.f, 20, 0, 0.01f, 0}};
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16})
    for (int pattern = 0; pattern < 2; ++pattern)
      for (const SampleCase& c : cases) {
        SCOPED_TRACE("tie pattern " + std::to_string(pattern));
        const at::Tensor host = poisoned_wide(tied_logits(B, V, pattern, dtype), 1e4f);
        ASSERT_NO_FATAL_FAILURE(expect_sample_equals_twin(host, V, c));
      }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SampleGpu,
                         ::testing::Values(Shape{1, 7}, Shape{17, 513}, Shape{64, 50257}, Shape{5, 128256}));

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

class TokenLogprobGpu : public GpuShapeTest {};

TEST_P(TokenLogprobGpu, KernelEqualsTwin) {
  const auto [N, V] = GetParam();
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

// Strided rows in a poisoned buffer (padding 1e4: read by mistake it becomes the maximum and
// drags every log-probability to about -1e4) with quantized, tied logits: the rank counts only
// strictly larger logits, so it must equal the twin's exactly whatever the ties. Row 0 is
// constant: rank 1 and log-probability -log V for any target. The bridge
// (ops::token_logprobs) on the strided view must give the kernel's results exactly.
TEST_P(TokenLogprobGpu, StridedTiedRowsEqualTwin) {
  const auto [N, V] = GetParam();
  const int64_t S = V + kPad;
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    for (int pattern = 0; pattern < 2; ++pattern) {
      const at::Tensor host = poisoned_wide(tied_logits(N, V, pattern, dtype), 1e4f);
      const at::Tensor targets = at::randint(0, V, {N}, at::kLong);
      std::vector<float> lp(N), ent(N);
      std::vector<int64_t> rank(N);
      kernels::token_logprobs_cpu(host.slice(1, kLead, kLead + V).const_data_ptr(), kind_of(dtype), N, V, S,
                                  targets.const_data_ptr<int64_t>(), lp.data(), ent.data(), rank.data());
      // Row 0 ties everywhere: rank 1, log p = -log V. The twin's sum is exactly V in double,
      // so only the final rounding to float separates it from -log V: half an ulp, under 5e-7
      // for log V < 16; 1e-6 is about one float ulp there.
      ASSERT_EQ(rank[0], 1);
      ASSERT_NEAR(lp[0], -std::log(static_cast<double>(V)), 1e-6);

      const at::Tensor d = host.cuda(), dt = targets.cuda();
      const at::Tensor view = d.slice(1, kLead, kLead + V);
      at::Tensor d_lp = at::full({N}, std::nanf(""), d.options().dtype(at::kFloat));  // poison
      at::Tensor d_ent = at::full({N}, std::nanf(""), d.options().dtype(at::kFloat));
      at::Tensor d_rank = at::full({N}, -1, dt.options());
      kernels::token_logprobs(view.const_data_ptr(), kind_of(dtype), N, V, S, dt.const_data_ptr<int64_t>(),
                              d_lp.mutable_data_ptr<float>(), d_ent.mutable_data_ptr<float>(),
                              d_rank.mutable_data_ptr<int64_t>(), stream);
      const auto bridged = ops::token_logprobs(view, dt, true, true);
      const at::Tensor g_lp = d_lp.cpu(), g_ent = d_ent.cpu(), g_rank = d_rank.cpu();
      const at::Tensor b_lp = bridged.logprob.cpu(), b_ent = bridged.entropy.cpu(), b_rank = bridged.rank.cpu();
      for (int64_t n = 0; n < N; ++n) {
        const std::string where = std::string(c10::toString(dtype)) + " pattern " + std::to_string(pattern) +
                                  " row " + std::to_string(n);
        // As in KernelEqualsTwin: the kernel sums in float (runs of V / 256 terms per thread,
        // then a fixed tree), the twin in double. Each sum's relative error is at most about
        // (V / 256 + 8) float epsilons (6e-5 at V = 128256; rounding errors of similar terms
        // mostly cancel, so the real error is far smaller), which is the absolute error of
        // log(sum) and, times |mean of x - max| (a few units here), of the entropy.
        ASSERT_NEAR(g_lp[n].item<float>(), lp[n], 2e-4f + 1e-5f * std::abs(lp[n])) << where;
        ASSERT_NEAR(g_ent[n].item<float>(), ent[n], 2e-4f + 1e-5f * std::abs(ent[n])) << where;
        ASSERT_EQ(g_rank[n].item<int64_t>(), rank[n]) << where;
        // Same kernel, same inputs, fixed reduction order: bit-identical.
        ASSERT_EQ(b_lp[n].item<float>(), g_lp[n].item<float>()) << "bridge, " << where;
        ASSERT_EQ(b_ent[n].item<float>(), g_ent[n].item<float>()) << "bridge, " << where;
        ASSERT_EQ(b_rank[n].item<int64_t>(), g_rank[n].item<int64_t>()) << "bridge, " << where;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TokenLogprobGpu,
                         ::testing::Values(Shape{1, 1}, Shape{7, 333}, Shape{300, 50257}, Shape{9, 128256}));

// ---- ggml dequantization ----------------------------------------------------------------------
// Random blocks of every type: random bytes (every bit of the quants, high bits, masks and packed
// scales; for F32/F16/BF16 every bit pattern, NaN payloads included) with each block's fp16
// scale fields overwritten by a finite fp16 (any finite bit pattern, subnormals included, so
// every value stays finite: |d| <= 65504 times integers below 2^12). The kernel, through the
// bridge and through its launcher (source one byte off alignment, output poisoned), must give
// the twin's float32 bit patterns exactly: both compute ggml's operations in ggml's order with
// no fused multiply-add.

// Byte offsets of the fp16 fields inside one block (ggml-common.h's block structs).
std::vector<int> fp16_fields(kernels::GgmlType type) {
  using kernels::GgmlType;
  switch (type) {
    case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: return {0};
    case GgmlType::Q4_1: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K: return {0, 2};
    case GgmlType::Q2_K: return {80, 82};
    case GgmlType::Q3_K: return {108};
    case GgmlType::Q6_K: return {208};
    default: return {};  // F32, F16, BF16: the bytes are the values
  }
}

// The index of the first value whose bits differ, or -1.
int64_t first_bit_difference(const float* a, const float* b, int64_t n) {
  if (std::memcmp(a, b, static_cast<size_t>(n) * sizeof(float)) == 0) return -1;
  for (int64_t i = 0; i < n; ++i)
    if (std::memcmp(a + i, b + i, sizeof(float)) != 0) return i;
  return -1;
}

std::string bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", u);
  return buf;
}

class DequantGpu : public ::testing::TestWithParam<kernels::GgmlType> {
 protected:
  void SetUp() override {
    EIDETIC_REQUIRE_GPU();
    stream = at::cuda::getCurrentCUDAStream().stream();
  }
  cudaStream_t stream = nullptr;
};

TEST_P(DequantGpu, KernelEqualsTwinBitForBit) {
  const kernels::GgmlType type = GetParam();
  const kernels::GgmlTypeInfo* info = kernels::ggml_type_info(static_cast<int32_t>(type));
  ASSERT_NE(info, nullptr);
  std::mt19937 rng(1000 + static_cast<unsigned>(type));
  for (const int64_t n_blocks : {int64_t{1}, int64_t{7}, int64_t{1031}}) {
    const int64_t n_bytes = n_blocks * info->block_bytes;
    const int64_t n_values = n_blocks * info->block_elems;
    // One leading byte, then the blocks: the launcher gets a source pointer one byte in.
    std::vector<uint8_t> buffer(static_cast<size_t>(n_bytes + 1));
    for (auto& byte : buffer) byte = static_cast<uint8_t>(rng());
    uint8_t* blocks = buffer.data() + 1;
    for (int64_t b = 0; b < n_blocks; ++b) {
      for (const int offset : fp16_fields(type)) {
        uint32_t h = rng() & 0xffffu;
        if ((h & 0x7c00u) == 0x7c00u) h &= 0xbfffu;  // infinity or NaN: lower the exponent
        blocks[b * info->block_bytes + offset] = static_cast<uint8_t>(h);
        blocks[b * info->block_bytes + offset + 1] = static_cast<uint8_t>(h >> 8);
      }
    }
    std::vector<float> expected(static_cast<size_t>(n_values));
    kernels::dequantize_cpu(type, blocks, n_blocks, expected.data());

    const at::Tensor device = at::from_blob(buffer.data(), {n_bytes + 1}, at::kByte).cuda();
    const std::string where = std::string(info->name) + ", " + std::to_string(n_blocks) + " blocks";

    // The bridge on a CUDA tensor (a contiguous slice one byte into the buffer).
    const at::Tensor bridged = ops::dequantize(device.narrow(0, 1, n_bytes), type);
    ASSERT_TRUE(bridged.is_cuda()) << where;
    ASSERT_EQ(bridged.scalar_type(), at::kFloat) << where;
    ASSERT_EQ(bridged.numel(), n_values) << where;
    const at::Tensor got_bridge = bridged.cpu();
    const int64_t bad_bridge = first_bit_difference(got_bridge.const_data_ptr<float>(), expected.data(), n_values);
    ASSERT_EQ(bad_bridge, -1) << "bridge, " << where << ": value " << bad_bridge << " is "
                              << bits_of(got_bridge.const_data_ptr<float>()[bad_bridge < 0 ? 0 : bad_bridge])
                              << ", the twin gives " << bits_of(expected[bad_bridge < 0 ? 0 : bad_bridge]);

    // The launcher, with every output byte poisoned to 0xff first (the NaN 0xffffffff, which
    // no conversion here produces except F32's copy of those very bits).
    at::Tensor out = at::full({n_values * 4}, 0xff, device.options()).view(at::kFloat);
    kernels::dequantize(type, device.const_data_ptr<uint8_t>() + 1, n_blocks, out.mutable_data_ptr<float>(), stream);
    const at::Tensor got = out.cpu();
    const int64_t bad = first_bit_difference(got.const_data_ptr<float>(), expected.data(), n_values);
    ASSERT_EQ(bad, -1) << "launcher, " << where << ": value " << bad << " is "
                       << bits_of(got.const_data_ptr<float>()[bad < 0 ? 0 : bad]) << ", the twin gives "
                       << bits_of(expected[bad < 0 ? 0 : bad]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, DequantGpu,
    ::testing::Values(kernels::GgmlType::F32, kernels::GgmlType::F16, kernels::GgmlType::BF16,
                      kernels::GgmlType::Q4_0, kernels::GgmlType::Q4_1, kernels::GgmlType::Q5_0,
                      kernels::GgmlType::Q5_1, kernels::GgmlType::Q8_0, kernels::GgmlType::Q2_K,
                      kernels::GgmlType::Q3_K, kernels::GgmlType::Q4_K, kernels::GgmlType::Q5_K,
                      kernels::GgmlType::Q6_K),
    [](const ::testing::TestParamInfo<kernels::GgmlType>& p) {
      return std::string(kernels::ggml_type_info(static_cast<int32_t>(p.param))->name);
    });

#else
TEST(KernelsGpu, NeedsCudaBuild) { EIDETIC_REQUIRE_GPU(); }
#endif

}  // namespace
}  // namespace eidetic
