// The engine on a GPU: CUDA-graph replay equals eager decoding token for token and log-prob
// for log-prob (greedy; top-k, top-p, temperature schedules and their combinations; stop
// tokens), and the CUDA engine in float32 equals the CPU engine. Skipped without a device.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "models/engine.h"
#include "model_util.h"
#include "test_util.h"

namespace eidetic {
namespace {

using models::DecodeSpec;

const std::vector<std::vector<int64_t>> kPrompts = {{5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {40, 30}, {7, 7, 7, 7}};

using models::Generated;

// The model of the graph tests: a tiny Llama in bfloat16 on the GPU.
models::Model replay_model() {
  const auto c = testing::tiny_llama();
  return testing::make_model(c, testing::llama_tensors(c, 31), at::Device(at::kCUDA), at::kBFloat16);
}

// Two engines alike but for CUDA graphs.
models::EngineOptions engine_options(bool cuda_graphs) {
  models::EngineOptions o;
  o.batch_size = 8;
  o.cuda_graphs = cuda_graphs;
  return o;
}

// A replayed step against the eager step: both engines launch the same kernels on the same
// data, so their log-probabilities should be equal; 16 float32 ulps of the value (relative
// 1.9e-6) forgive rounding only, far below what a changed logit would move them (one bfloat16
// step of a logit between 4 and 8 is 0.03).
float logprob_tolerance(float lp) { return 16 * std::numeric_limits<float>::epsilon() * std::max(1.f, std::abs(lp)); }

// What generate() returns when no stop token is set: one result per (prompt, sample) in
// prompt-major order (beam search: one per prompt), each with exactly max_new_tokens tokens in
// the vocabulary and as many log-probabilities, finite and <= 0.
void expect_complete(const std::vector<Generated>& r, const DecodeSpec& spec, size_t prompts, int64_t vocab) {
  const size_t per_prompt = spec.mode == DecodeSpec::Mode::sample ? static_cast<size_t>(spec.num_samples) : 1;
  ASSERT_EQ(r.size(), prompts * per_prompt);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].prompt, static_cast<int64_t>(i / per_prompt)) << "result " << i;
    EXPECT_EQ(r[i].sample, static_cast<int64_t>(i % per_prompt)) << "result " << i;
    ASSERT_EQ(static_cast<int64_t>(r[i].tokens.size()), spec.max_new_tokens) << "result " << i;
    ASSERT_EQ(r[i].logprobs.size(), r[i].tokens.size()) << "result " << i;
    for (size_t j = 0; j < r[i].tokens.size(); ++j) {
      ASSERT_TRUE(r[i].tokens[j] >= 0 && r[i].tokens[j] < vocab) << "result " << i << " token " << j;
      ASSERT_TRUE(std::isfinite(r[i].logprobs[j]) && r[i].logprobs[j] <= 0.f)
          << "result " << i << " token " << j << " log-prob " << r[i].logprobs[j];
    }
  }
}

// `got` equal to `want`, result by result: tokens exactly, log-probabilities within rounding.
void expect_same(const std::vector<Generated>& got, const std::vector<Generated>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].prompt, want[i].prompt) << "result " << i;
    EXPECT_EQ(got[i].sample, want[i].sample) << "result " << i;
    ASSERT_EQ(got[i].tokens, want[i].tokens) << "result " << i;
    ASSERT_EQ(got[i].logprobs.size(), want[i].logprobs.size()) << "result " << i;
    for (size_t j = 0; j < got[i].logprobs.size(); ++j)
      ASSERT_NEAR(got[i].logprobs[j], want[i].logprobs[j], logprob_tolerance(want[i].logprobs[j]))
          << "result " << i << " token " << j;
  }
}

struct ReplayCase {
  const char* name;
  DecodeSpec::Mode mode;
  int64_t width;  // num_samples (sample) or beam_width (beam)
  float t0, t1;
  int64_t steps, top_k;
  float top_p;
};

DecodeSpec spec_of(const ReplayCase& c, int64_t max_new_tokens) {
  DecodeSpec s;
  s.mode = c.mode;
  s.max_new_tokens = max_new_tokens;
  if (c.mode == DecodeSpec::Mode::sample) s.num_samples = c.width;
  if (c.mode == DecodeSpec::Mode::beam) s.beam_width = c.width;
  s.sampling.temperature_start = c.t0;
  s.sampling.temperature_end = c.t1;
  s.sampling.temperature_steps = c.steps;
  s.sampling.top_k = c.top_k;
  s.sampling.top_p = c.top_p;
  s.sampling.seed = 4;
  return s;
}

// The schedule runs 10 -> 1 over the first 20 of 24 steps: the temperature changes at every
// replayed step, which a graph that captured it as a constant would freeze at its capture step.
const ReplayCase kReplayCases[] = {
    {"greedy", DecodeSpec::Mode::greedy, 1, 1.f, 1.f, 0, 0, 1.f},
    {"top-k 20", DecodeSpec::Mode::sample, 3, 1.f, 1.f, 0, 20, 1.f},
    {"top-p 0.9", DecodeSpec::Mode::sample, 3, 1.f, 1.f, 0, 0, 0.9f},
    {"t 0.8, top-k 20, top-p 0.9", DecodeSpec::Mode::sample, 3, 0.8f, 0.8f, 0, 20, 0.9f},
    {"schedule 10 -> 1 over 20", DecodeSpec::Mode::sample, 3, 10.f, 1.f, 20, 0, 1.f},
    {"schedule, top-k 20", DecodeSpec::Mode::sample, 3, 10.f, 1.f, 20, 20, 1.f},
    {"schedule, top-p 0.9", DecodeSpec::Mode::sample, 3, 10.f, 1.f, 20, 0, 0.9f},
    {"schedule, top-k 20, top-p 0.9", DecodeSpec::Mode::sample, 2, 10.f, 1.f, 20, 20, 0.9f},
    {"beam 4", DecodeSpec::Mode::beam, 4, 1.f, 1.f, 0, 0, 1.f},
};

TEST(EngineGpu, GraphReplayEqualsEager) {
  EIDETIC_REQUIRE_GPU();
  const auto m = replay_model();
  const int64_t V = m.config().vocab_size;
  for (const ReplayCase& rc : kReplayCases) {
    SCOPED_TRACE(rc.name);
    const DecodeSpec spec = spec_of(rc, 24);
    models::Engine a(m, engine_options(true)), b(m, engine_options(false));
    const auto ra = a.generate(kPrompts, spec);
    const auto rb = b.generate(kPrompts, spec);
    if (rc.mode == DecodeSpec::Mode::beam) {
      // Beam search decodes eagerly whatever the option says (Engine::decode_beam); should it
      // gain a graph, this expectation goes and the comparison below already covers it.
      EXPECT_EQ(a.stats().graph_captures, 0);
    } else {
      EXPECT_GT(a.stats().graph_captures, 0);
    }
    EXPECT_EQ(b.stats().graph_captures, 0);
    ASSERT_NO_FATAL_FAILURE(expect_complete(ra, spec, kPrompts.size(), V));
    ASSERT_NO_FATAL_FAILURE(expect_complete(rb, spec, kPrompts.size(), V));
    ASSERT_NO_FATAL_FAILURE(expect_same(ra, rb));
    if (rc.steps > 0) {
      // The check means something only if the schedule changes the draws: the same spec at
      // the constant end temperature must give other tokens somewhere.
      DecodeSpec flat = spec;
      flat.sampling.temperature_steps = 0;
      const auto rf = a.generate(kPrompts, flat);
      ASSERT_EQ(rf.size(), ra.size());
      bool differs = false;
      for (size_t i = 0; i < rf.size(); ++i) differs = differs || rf[i].tokens != ra[i].tokens;
      EXPECT_TRUE(differs) << "the temperature schedule changed no token";
    }
  }
}

// A free run's tokens up to (excluding) the first `stop`.
std::vector<int64_t> until(const std::vector<int64_t>& tokens, int64_t stop) {
  return {tokens.begin(), std::find(tokens.begin(), tokens.end(), stop)};
}

// With a stop token, every result is the free run's cut before the stop token's first
// occurrence (the stop token excluded; a row that never meets it keeps all its tokens), with
// graphs and without. 40 new tokens take both loops past their checks for "every row has
// stopped" (eager every 16 steps, replay every 32). Two cases: sampled rows that stop at
// different places or not at all, and greedy rows of one repeated prompt that all stop before
// step 16, so that both loops leave early (the replay with its later steps never run).
TEST(EngineGpu, GraphReplayStopsLikeEager) {
  EIDETIC_REQUIRE_GPU();
  const auto m = replay_model();
  const int64_t V = m.config().vocab_size;
  constexpr int64_t N = 40;
  const DecodeSpec sampled = spec_of({"", DecodeSpec::Mode::sample, 2, 10.f, 1.f, 20, 0, 0.9f}, N);
  const DecodeSpec greedy = spec_of({"", DecodeSpec::Mode::greedy, 1, 1.f, 1.f, 0, 0, 1.f}, N);
  const std::vector<std::vector<int64_t>> repeated = {{40, 30}, {40, 30}, {40, 30}};
  for (const bool early : {false, true}) {
    SCOPED_TRACE(early ? "greedy, every row stops early" : "sampled, rows stop apart");
    const DecodeSpec& spec = early ? greedy : sampled;
    const auto& prompts = early ? repeated : kPrompts;
    models::Engine reference(m, engine_options(false));
    const auto free_run = reference.generate(prompts, spec);
    ASSERT_NO_FATAL_FAILURE(expect_complete(free_run, spec, prompts.size(), V));
    int64_t stop = free_run[0].tokens[3];
    if (early) {
      // A token that every row meets within its first 16 tokens.
      std::set<int64_t> common(free_run[0].tokens.begin(), free_run[0].tokens.begin() + 16);
      for (const auto& g : free_run) {
        const std::set<int64_t> mine(g.tokens.begin(), g.tokens.begin() + 16);
        std::erase_if(common, [&](int64_t t) { return !mine.count(t); });
      }
      ASSERT_FALSE(common.empty()) << "no token is common to the first 16 of every row";
      stop = *common.begin();
    }
    DecodeSpec stopped = spec;
    stopped.stop_token = stop;
    models::Engine a(m, engine_options(true)), b(m, engine_options(false));
    const auto ra = a.generate(prompts, stopped);
    const auto rb = b.generate(prompts, stopped);
    EXPECT_GT(a.stats().graph_captures, 0);
    std::vector<Generated> want = free_run;
    for (auto& g : want) {
      g.tokens = until(g.tokens, stop);
      g.logprobs.resize(g.tokens.size());
    }
    {
      SCOPED_TRACE("graphs");
      ASSERT_NO_FATAL_FAILURE(expect_same(ra, want));
    }
    {
      SCOPED_TRACE("eager");
      ASSERT_NO_FATAL_FAILURE(expect_same(rb, want));
    }
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
