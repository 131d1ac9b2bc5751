// CPU tests of the kernel twins: held to plain reference loops written here and to libtorch's
// own operators (an implementation nobody here wrote), on random inputs with ties and odd sizes.
#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "kernels/argmax.h"
#include "kernels/common.h"
#include "kernels/dequant.h"
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

// ---- ggml dequantization ----------------------------------------------------------------------
// The Python oracle (tests/gguf_dequant_oracle.py) holds every type to gguf.quants.dequantize on
// random blocks; here a few blocks built by hand, with their values worked out on paper.

// One Q4_1 block whose additions round: d = fp16 0x3C01 = 1 + 2^-10, m = fp16 0x7BFF = 65504,
// qs[j] = j | (15 - j) << 4, so value j is q*d + m with q = j and value 16 + j has q = 15 - j.
// q*d = q + q/1024 is exact; near 65504 a float32 step is 2^-8, and q/1024 is q/4 steps, so the
// sum rounds to 65504 + q + round(q/4) * 2^-8, ties to even: q = 2, 6, 10, 14 are ties (0.5,
// 1.5, 2.5, 3.5 steps) and go to 0, 2, 2, 4 steps.
TEST(DequantTwin, Q41BlockRoundsLikeGgml) {
  uint8_t block[20] = {0x01, 0x3C, 0xFF, 0x7B};
  for (int j = 0; j < 16; ++j) block[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const float by_q[16] = {65504.0f,       65505.0f,       65506.0f,       65507.00390625f,
                          65508.00390625f, 65509.00390625f, 65510.0078125f,  65511.0078125f,
                          65512.0078125f,  65513.0078125f,  65514.0078125f,  65515.01171875f,
                          65516.01171875f, 65517.01171875f, 65518.015625f,   65519.015625f};
  float y[32];
  kernels::dequantize_cpu(kernels::GgmlType::Q4_1, block, 1, y);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], by_q[j]) << "value " << j;
    EXPECT_EQ(y[16 + j], by_q[15 - j]) << "value " << 16 + j;
  }
}

// One Q6_K block: d = fp16 0x3400 = 0.25; int8 scales 1, -2, 3, -4, ..., 15 (sign alternating)
// and scales[15] = -128. With ql and qh all zero every value is q = 0 - 32, so value i is
// 0.25 * scale[i / 16] * -32 = -8 * scale[i / 16]. A few bytes change that:
//   ql[0] = 0x5A, qh[0] = 0xE4 (2-bit fields 0, 1, 2, 3 from the bottom):
//     value 0:  low nibble of ql[0] = 10, field 0 = 0  -> q = 10 - 32 = -22; 0.25 * 1 * -22 = -5.5
//     value 32: low nibble of ql[32] = 0, field 1 = 1  -> q = 16 - 32 = -16; 0.25 * 3 * -16 = -12
//     value 64: high nibble of ql[0] = 5, field 2 = 2  -> q = 37 - 32 = 5;   0.25 * 5 * 5 = 6.25
//     value 96: high nibble of ql[32] = 0, field 3 = 3 -> q = 48 - 32 = 16;  0.25 * 7 * 16 = 28
//   ql[72] = 0x30, qh[40] = 0x10 (second half, l = 8): value 200 = 128 + 64 + 8 takes the high
//     nibble of ql[64 + 8] = 3 and field 2 of qh[32 + 8] = 1 -> q = 19 - 32 = -13;
//     scale[12] = 13: 0.25 * 13 * -13 = -42.25. (Values 136, 168, 232 share those bytes and
//     read zeros there.)
//   ql[127] = 0xF0, qh[63] = 0xC0 (l = 31): value 255 = 128 + 96 + 31 takes the high nibble of
//     ql[64 + 32 + 31] = 15 and field 3 of qh[32 + 31] = 3 -> q = 63 - 32 = 31;
//     scale[15] = -128: 0.25 * -128 * 31 = -992. (Value 191 reads the zero low nibble.)
TEST(DequantTwin, Q6KBlockByHand) {
  uint8_t block[210] = {};
  const int8_t scales[16] = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -128};
  std::memcpy(block + 192, scales, 16);
  block[208] = 0x00;
  block[209] = 0x34;
  block[0] = 0x5A;
  block[128 + 0] = 0xE4;
  block[72] = 0x30;
  block[128 + 40] = 0x10;
  block[127] = 0xF0;
  block[128 + 63] = 0xC0;
  float y[256];
  kernels::dequantize_cpu(kernels::GgmlType::Q6_K, block, 1, y);
  const std::vector<std::pair<int, float>> changed = {{0, -5.5f},    {32, -12.0f},    {64, 6.25f},
                                                      {96, 28.0f},   {200, -42.25f},  {255, -992.0f}};
  for (int i = 0; i < 256; ++i) {
    float expected = -8.0f * scales[i / 16];
    for (const auto& [index, value] : changed)
      if (index == i) expected = value;
    EXPECT_EQ(y[i], expected) << "value " << i;
  }
}

TEST(DequantTypes, TableAndNames) {
  // Readable types and their layouts (ggml-common.h; the oracle checks them against gguf's
  // GGML_QUANT_SIZES through the number of values it gets back).
  const auto* q4k = kernels::ggml_type_info(12);
  ASSERT_NE(q4k, nullptr);
  EXPECT_EQ(q4k->type, kernels::GgmlType::Q4_K);
  EXPECT_STREQ(q4k->name, "q4_K");
  EXPECT_EQ(q4k->block_elems, 256);
  EXPECT_EQ(q4k->block_bytes, 144);
  ASSERT_NE(kernels::ggml_type_info(30), nullptr);
  EXPECT_EQ(kernels::ggml_type_info(30)->block_bytes, 2);
  EXPECT_EQ(kernels::ggml_type_info(7)->block_bytes, 24);
  // Removed ids, unreadable types, ids never assigned.
  for (const int32_t id : {4, 5, 9, 15, 16, 23, 24, 28, 29, 31, 34, 39, 42, -1, 1000})
    EXPECT_EQ(kernels::ggml_type_info(id), nullptr) << "id " << id;
  EXPECT_STREQ(kernels::ggml_type_name(0), "f32");
  EXPECT_STREQ(kernels::ggml_type_name(3), "q4_1");
  EXPECT_STREQ(kernels::ggml_type_name(9), "q8_1");
  EXPECT_STREQ(kernels::ggml_type_name(14), "q6_K");
  EXPECT_STREQ(kernels::ggml_type_name(16), "iq2_xxs");
  EXPECT_STREQ(kernels::ggml_type_name(24), "i8");
  EXPECT_STREQ(kernels::ggml_type_name(28), "f64");
  EXPECT_STREQ(kernels::ggml_type_name(29), "iq1_m");
  EXPECT_STREQ(kernels::ggml_type_name(30), "bf16");
  EXPECT_STREQ(kernels::ggml_type_name(34), "tq1_0");
  EXPECT_STREQ(kernels::ggml_type_name(39), "mxfp4");
  for (const int32_t id : {4, 5, 31, 32, 33, 36, 37, 38, 42, -1, 1 << 30})
    EXPECT_EQ(kernels::ggml_type_name(id), nullptr) << "id " << id;
  // Every readable type's table entry names itself.
  for (int32_t id = 0; id < 64; ++id)
    if (const auto* info = kernels::ggml_type_info(id)) {
      EXPECT_EQ(static_cast<int32_t>(info->type), id);
      EXPECT_STREQ(info->name, kernels::ggml_type_name(id));
    }
}

TEST(DequantBridge, FlatBytesOfAnyShapeAndClearErrors) {
  // Two Q8_0 blocks as a (2, 34) byte matrix: d = 1 and d = -0.5, qs[j] = j - 16.
  at::Tensor bytes = at::zeros({2, 34}, at::kByte);
  bytes[0][1] = 0x3C;  // fp16 1.0
  bytes[1][1] = 0xB8;  // fp16 -0.5
  for (int j = 0; j < 32; ++j) {
    bytes[0][2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
    bytes[1][2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  }
  const at::Tensor y = ops::dequantize(bytes, kernels::GgmlType::Q8_0);
  ASSERT_EQ(y.dim(), 1);
  ASSERT_EQ(y.size(0), 64);
  ASSERT_EQ(y.scalar_type(), at::kFloat);
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(y[j].item<float>(), static_cast<float>(j - 16));
    EXPECT_EQ(y[32 + j].item<float>(), -0.5f * static_cast<float>(j - 16));
  }
  EXPECT_EQ(ops::dequantize(at::zeros({0}, at::kByte), kernels::GgmlType::Q4_K).numel(), 0);

  const auto message = [](const at::Tensor& t, kernels::GgmlType type) -> std::string {
    try {
      ops::dequantize(t, type);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message(at::zeros({145}, at::kByte), kernels::GgmlType::Q4_K),
            "dequantize: blocks holds 145 bytes, not a whole number of q4_K blocks of 144 bytes");
  EXPECT_EQ(message(at::zeros({66}, at::kByte), static_cast<kernels::GgmlType>(16)),
            "dequantize: ggml type 16 (iq2_xxs) cannot be dequantized");
  EXPECT_EQ(message(at::zeros({8}, at::kByte), static_cast<kernels::GgmlType>(4)),
            "dequantize: ggml type 4 cannot be dequantized");
  EXPECT_EQ(message(at::zeros({36}, at::kFloat), kernels::GgmlType::F32),
            "dequantize: blocks must be uint8 bytes, got Float");
  EXPECT_NE(message(at::zeros({4, 34}, at::kByte).t(), kernels::GgmlType::Q8_0).find("must be contiguous"),
            std::string::npos);
  EXPECT_EQ(message(at::Tensor(), kernels::GgmlType::F16), "dequantize: blocks is undefined");
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
