// CPU tests of the kernel twins: held to plain reference loops written here and to libtorch's
// own operators (an implementation nobody here wrote), on random inputs with ties and odd sizes.
#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/error.h"
#include "kernels/argmax.h"
#include "kernels/common.h"
#include "kernels/match.h"
#include "kernels/torch_ops.h"

namespace eidetic {
namespace {

using kernels::FloatKind;

// ---- number formats -----------------------------------------------------------------------

TEST(NumberFormats, HalfToFloatMatchesC10ForEveryBitPattern) {
  for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const float ours = kernels::half_bits_to_float(static_cast<uint16_t>(bits));
    const float ref = static_cast<float>(c10::Half(static_cast<uint16_t>(bits), c10::Half::from_bits()));
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(ours)) << "bits " << bits;
    } else {
      EXPECT_EQ(ours, ref) << "bits " << bits;  // exact: every half is a float; no rounding on either side
    }
  }
}

TEST(NumberFormats, FloatToHalfAndBf16RoundLikeC10) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<uint32_t> any_bits;
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = any_bits(rng);
    // Half the draws in the range where half is subnormal or near its limits.
    if (i % 2) bits = (bits & 0x807fffffu) | ((100u + (bits >> 24) % 50u) << 23);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (std::isnan(f)) continue;
    EXPECT_EQ(kernels::float_to_half_bits(f), c10::Half(f).x) << "float bits " << bits;
    EXPECT_EQ(kernels::float_to_bf16_bits(f), c10::BFloat16(f).x) << "float bits " << bits;
  }
}

TEST(NumberFormats, Bf16ToFloatIsTheUpperHalf) {
  for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const float ours = kernels::bf16_bits_to_float(static_cast<uint16_t>(bits));
    const float ref =
        static_cast<float>(c10::BFloat16(static_cast<uint16_t>(bits), c10::BFloat16::from_bits()));
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(ours));
    } else {
      EXPECT_EQ(ours, ref);  // exact: every bf16 is a float (its upper 16 bits); no rounding
    }
  }
}

// ---- argmax ---------------------------------------------------------------------------------

// Reference written independently of the twin: scan with the documented rule.
std::vector<int64_t> reference_argmax(const std::vector<float>& x, int64_t B, int64_t V) {
  std::vector<int64_t> out(B);
  for (int64_t b = 0; b < B; ++b) {
    const float* row = x.data() + b * V;
    int64_t first_nan = -1;
    for (int64_t v = 0; v < V && first_nan < 0; ++v)
      if (std::isnan(row[v])) first_nan = v;
    if (first_nan >= 0) {
      out[b] = first_nan;
      continue;
    }
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t v = 0; v < V; ++v) m = std::max(m, row[v]);
    int64_t i = 0;
    while (row[i] != m) ++i;
    out[b] = i;
  }
  return out;
}

// Random logits with many exact ties (few distinct levels) and, optionally, NaN and infinities.
std::vector<float> tied_logits(std::mt19937& rng, int64_t B, int64_t V, bool specials) {
  std::uniform_int_distribution<int> level(-8, 8);
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<float> x(B * V);
  for (auto& v : x) {
    v = 0.25f * static_cast<float>(level(rng));
    if (specials) {
      const int p = pick(rng);
      if (p == 0) v = std::numeric_limits<float>::quiet_NaN();
      if (p == 1) v = std::numeric_limits<float>::infinity();
      if (p == 2) v = -std::numeric_limits<float>::infinity();
    }
  }
  return x;
}

class ArgmaxTwin : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(ArgmaxTwin, Float32MatchesReferenceLoop) {
  const auto [B, V] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(B * 7919 + V));
  for (const bool specials : {false, true}) {
    const auto x = tied_logits(rng, B, V, specials);
    std::vector<int64_t> out(B, -1);
    kernels::argmax_rows_cpu(x.data(), FloatKind::f32, B, V, V, out.data());
    EXPECT_EQ(out, reference_argmax(x, B, V)) << "specials=" << specials;
  }
}

TEST_P(ArgmaxTwin, HalfAndBf16MatchReferenceOnRoundedValues) {
  const auto [B, V] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(B * 31 + V));
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<float> x(B * V);
  for (auto& v : x) v = normal(rng);
  for (const FloatKind kind : {FloatKind::f16, FloatKind::bf16}) {
    std::vector<uint16_t> bits(x.size());
    std::vector<float> rounded(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      bits[i] = kind == FloatKind::f16 ? kernels::float_to_half_bits(x[i])
                                       : kernels::float_to_bf16_bits(x[i]);
      rounded[i] = kind == FloatKind::f16 ? kernels::half_bits_to_float(bits[i])
                                          : kernels::bf16_bits_to_float(bits[i]);
    }
    std::vector<int64_t> out(B, -1);
    kernels::argmax_rows_cpu(bits.data(), kind, B, V, V, out.data());
    EXPECT_EQ(out, reference_argmax(rounded, B, V)) << kernels::float_kind_name(kind);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ArgmaxTwin,
                         ::testing::Values(std::tuple<int64_t, int64_t>{1, 1},
                                           std::tuple<int64_t, int64_t>{3, 7},
                                           std::tuple<int64_t, int64_t>{17, 513},
                                           std::tuple<int64_t, int64_t>{2, 50257}));

TEST(ArgmaxBridge, EqualsTorchArgmaxForEveryDtype) {
  at::manual_seed(7);
  for (const auto dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    for (const auto& [B, V] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {5, 33}, {9, 50257}}) {
      // Few levels: many ties, which torch.argmax resolves to the first index as we do.
      const at::Tensor logits = at::randint(-4, 4, {B, V}).to(dtype);
      const at::Tensor ours = ops::argmax_rows(logits);
      const at::Tensor ref = at::argmax(logits, /*dim=*/1);
      EXPECT_TRUE(at::equal(ours, ref)) << c10::toString(dtype) << " B=" << B << " V=" << V;
    }
  }
}

TEST(ArgmaxBridge, StridedRowsOfALastPositionSlice) {
  at::manual_seed(11);
  const at::Tensor logits = at::randn({6, 5, 301});  // (B, T, V): greedy reads position T-1
  const at::Tensor last = logits.select(1, 4);       // rows 5 * 301 apart
  ASSERT_FALSE(last.is_contiguous());
  EXPECT_TRUE(at::equal(ops::argmax_rows(last), at::argmax(last, 1)));
}

TEST(ArgmaxBridge, NaNWinsLikeTorch) {
  at::Tensor logits = at::zeros({2, 6});
  logits[0][3] = std::numeric_limits<float>::quiet_NaN();
  logits[0][5] = std::numeric_limits<float>::quiet_NaN();
  logits[1][2] = std::numeric_limits<float>::infinity();
  const at::Tensor ours = ops::argmax_rows(logits);
  EXPECT_EQ(ours[0].item<int64_t>(), 3);
  EXPECT_EQ(ours[1].item<int64_t>(), 2);
  EXPECT_TRUE(at::equal(ours, at::argmax(logits, 1)));
}

TEST(ArgmaxBridge, RejectsBadTensorsWithAClearMessage) {
  EXPECT_THROW(
      {
        try {
          ops::argmax_rows(at::zeros({2, 3, 4}));
        } catch (const Error& e) {
          EXPECT_STREQ(e.what(), "argmax_rows: logits must be 2-D (B, V), got shape [2, 3, 4]");
          throw;
        }
      },
      Error);
  EXPECT_THROW(ops::argmax_rows(at::zeros({2, 3}, at::kLong)), Error);
  EXPECT_THROW(ops::argmax_rows(at::zeros({2, 0})), Error);
  EXPECT_THROW(ops::argmax_rows(at::Tensor()), Error);
  EXPECT_EQ(ops::argmax_rows(at::zeros({0, 4})).numel(), 0);
}

// ---- token matching -------------------------------------------------------------------------

TEST(MatchTwin, KnownRows) {
  // rows: all equal; differ at 0; differ at the last position; differ in the middle
  const std::vector<int64_t> g = {1, 2, 3, 4, /**/ 9, 2, 3, 4, /**/ 1, 2, 3, 5, /**/ 1, 2, 0, 4};
  const std::vector<int64_t> t = {1, 2, 3, 4, /**/ 1, 2, 3, 4, /**/ 1, 2, 3, 4, /**/ 1, 2, 3, 4};
  std::vector<int64_t> lcp(4, -1);
  bool exact[4] = {false, true, true, true};
  kernels::match_tokens_cpu(g.data(), 4, t.data(), 4, 4, 4, lcp.data(), exact);
  EXPECT_EQ(lcp, (std::vector<int64_t>{4, 0, 3, 2}));
  EXPECT_TRUE(exact[0]);
  EXPECT_FALSE(exact[1]);
  EXPECT_FALSE(exact[2]);
  EXPECT_FALSE(exact[3]);
}

TEST(MatchTwin, EmptyRowsMatchExactly) {
  int64_t lcp = -1;
  bool exact = false;
  kernels::match_tokens_cpu(nullptr, 0, nullptr, 0, 1, 0, &lcp, &exact);
  EXPECT_EQ(lcp, 0);
  EXPECT_TRUE(exact);
}

TEST(MatchBridge, EqualsTorchReductionOnRandomRows) {
  at::manual_seed(3);
  for (const int64_t N : {1, 31, 32, 33, 50, 64, 257}) {
    const int64_t B = 41;
    const at::Tensor target = at::randint(0, 50257, {B, N});
    // Copy the target, then break each row at a random position (or not at all).
    at::Tensor generated = target.clone();
    const at::Tensor cut = at::randint(0, N + 1, {B});
    for (int64_t b = 0; b < B; ++b) {
      const int64_t c = cut[b].item<int64_t>();
      if (c < N) generated[b][c] = (target[b][c].item<int64_t>() + 1) % 50257;
    }
    // Independent reference: cumulative product of equalities, summed per row.
    const at::Tensor eq = at::eq(generated, target).to(at::kLong);
    const at::Tensor ref_lcp = at::cumprod(eq, 1).sum(1);
    const auto result = ops::match_tokens(generated, target);
    EXPECT_TRUE(at::equal(result.lcp, ref_lcp)) << "N=" << N;
    EXPECT_TRUE(at::equal(result.exact, ref_lcp == N)) << "N=" << N;
    EXPECT_TRUE(at::equal(result.lcp, at::minimum(cut, at::full_like(cut, N))));
  }
}

TEST(MatchBridge, AcceptsInt32AndStridedRows) {
  const at::Tensor wide = at::randint(0, 100, {8, 20});
  const at::Tensor target = wide.slice(1, 0, 10);  // rows 20 apart
  at::Tensor generated = target.clone().to(at::kInt);
  generated[2][5] = -1;
  const auto result = ops::match_tokens(generated, target);
  EXPECT_EQ(result.lcp[2].item<int64_t>(), 5);
  EXPECT_EQ(result.exact.sum().item<int64_t>(), 7);
}

TEST(MatchBridge, RejectsMismatchedInputs) {
  EXPECT_THROW(ops::match_tokens(at::zeros({2, 3}, at::kLong), at::zeros({2, 4}, at::kLong)),
               Error);
  EXPECT_THROW(ops::match_tokens(at::zeros({2, 3}), at::zeros({2, 3})), Error);
  EXPECT_THROW(ops::match_tokens(at::zeros({6}, at::kLong), at::zeros({6}, at::kLong)), Error);
}

}  // namespace
}  // namespace eidetic
