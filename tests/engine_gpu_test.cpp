// The engine on a GPU: CUDA-graph replay equals eager decoding token for token, and the CUDA
// engine in float32 equals the CPU engine. Skipped without a device.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/engine.h"
#include "model_util.h"
#include "test_util.h"

namespace eidetic {
namespace {

using models::DecodeSpec;

const std::vector<std::vector<int64_t>> kPrompts = {{5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {40, 30}, {7, 7, 7, 7}};

TEST(EngineGpu, GraphReplayEqualsEager) {
  EIDETIC_REQUIRE_GPU();
  const auto c = testing::tiny_llama();
  const auto m = testing::make_model(c, testing::llama_tensors(c, 31), at::Device(at::kCUDA), at::kBFloat16);
  for (const auto mode : {DecodeSpec::Mode::greedy, DecodeSpec::Mode::sample}) {
    DecodeSpec spec;
    spec.mode = mode;
    spec.max_new_tokens = 24;
    spec.num_samples = mode == DecodeSpec::Mode::sample ? 3 : 1;
    spec.sampling.top_k = 20;
    spec.sampling.seed = 4;
    models::EngineOptions graphs, eager;
    graphs.batch_size = eager.batch_size = 8;
    eager.cuda_graphs = false;
    models::Engine a(m, graphs), b(m, eager);
    const auto ra = a.generate(kPrompts, spec);
    const auto rb = b.generate(kPrompts, spec);
    EXPECT_GT(a.stats().graph_captures, 0);
    EXPECT_EQ(b.stats().graph_captures, 0);
    ASSERT_EQ(ra.size(), rb.size());
    for (size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i].tokens, rb[i].tokens) << "result " << i;
  }
}

TEST(EngineGpu, CudaFloat32EqualsCpu) {
  EIDETIC_REQUIRE_GPU();
  const auto c = testing::tiny_gpt_neo();
  const auto tensors = testing::gpt_neo_tensors(c, 32);
  const auto gpu = testing::make_model(c, tensors, at::Device(at::kCUDA), at::kFloat);
  const auto cpu = testing::make_model(c, tensors);
  DecodeSpec spec;
  spec.max_new_tokens = 20;
  models::Engine a(gpu), b(cpu);
  const auto ra = a.generate(kPrompts, spec);
  const auto rb = b.generate(kPrompts, spec);
  for (size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i].tokens, rb[i].tokens) << "prompt " << i;
}

}  // namespace
}  // namespace eidetic
