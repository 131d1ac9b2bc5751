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

#else
TEST(KernelsGpu, NeedsCudaBuild) { EIDETIC_REQUIRE_GPU(); }
#endif

}  // namespace
}  // namespace eidetic
