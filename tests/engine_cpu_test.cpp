// The engine on the CPU: its decode path (decode_step over the static cache) against the
// plain cached-forward reference, invariance to batch size and order, the sampler's
// determinism per (seed, prompt, sample), log-probs against a teacher-forced forward, beam
// search against brute force, and scoring against log_softmax.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <utility>

#include "common/error.h"
#include "models/engine.h"
#include "models/generate.h"
#include "model_util.h"

namespace eidetic {
namespace {

using models::DecodeSpec;
using models::Engine;
using models::EngineOptions;
using testing::make_model;

const std::vector<std::vector<int64_t>> kPrompts = {{5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {40, 30}, {7, 7, 7, 7}, {11, 12, 13}};

DecodeSpec greedy(int64_t n) {
  DecodeSpec s;
  s.max_new_tokens = n;
  return s;
}

DecodeSpec sampling(int64_t n, int64_t samples, uint64_t seed) {
  DecodeSpec s;
  s.mode = DecodeSpec::Mode::sample;
  s.max_new_tokens = n;
  s.num_samples = samples;
  s.sampling.seed = seed;
  s.sampling.top_k = 20;
  s.sampling.top_p = 0.9f;
  s.sampling.temperature_start = 3.f;
  s.sampling.temperature_end = 1.f;
  s.sampling.temperature_steps = 5;
  return s;
}

EngineOptions batch(int64_t rows) {
  EngineOptions o;
  o.batch_size = rows;
  return o;
}

class EngineFamilies : public ::testing::TestWithParam<int> {
 protected:
  models::Model model() const {
    if (GetParam() == 0) return make_model(testing::tiny_llama(), testing::llama_tensors(testing::tiny_llama(), 21));
    return make_model(testing::tiny_gpt_neo(), testing::gpt_neo_tensors(testing::tiny_gpt_neo(), 22));
  }
};

TEST_P(EngineFamilies, GreedyEqualsCachedForwardReference) {
  const auto m = model();
  Engine engine(m, batch(3));
  const auto got = engine.generate(kPrompts, greedy(14));
  const auto ref = models::generate_greedy(m, kPrompts, 14);
  ASSERT_EQ(got.size(), kPrompts.size());
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(got[i].prompt, static_cast<int64_t>(i));
    EXPECT_EQ(got[i].tokens, ref.tokens[i]) << "prompt " << i;
  }
}

// How far two float32 evaluations of the same log-probability may drift apart when only the
// summation order differs (another batch size, another CPU's vector width: the BLAS reassociates
// fp32 sums differently). Worst-case rounding of a dot product of length n is n u times the sum
// of its terms' magnitudes (Higham's gamma_n, u = 2^-24); a log-probability passes through, per
// layer, the q/k/v projection (hidden), attention over the context, the output projection
// (hidden), the MLP's input (hidden) and output (intermediate) products, then the head (hidden),
// so the relative bound is the sum of those lengths times u, at the scale of the value (at least 1).
double fp32_reassociation_tolerance(const models::ModelConfig& c, int64_t context, double magnitude) {
  const double n = static_cast<double>(c.num_layers * (3 * c.hidden_size + context + c.intermediate_size) + c.hidden_size);
  return n * std::ldexp(1.0, -24) * std::max(1.0, std::abs(magnitude));
}

// What does not depend on the batch: greedy tokens, exactly, and log-probabilities within fp32
// reassociation (above). Sampled tokens are not compared across batch sizes: a draw that falls
// within rounding of a top-p or CDF boundary may flip when the logits move by one ulp, so only
// the draws' random numbers are batch-independent (tested below, on one batch size).
TEST_P(EngineFamilies, ResultsDoNotDependOnBatching) {
  const auto m = model();
  const auto& c = m.config();
  Engine one(m, batch(1)), many(m, batch(64));
  const auto a = one.generate(kPrompts, greedy(9));
  const auto b = many.generate(kPrompts, greedy(9));
  ASSERT_EQ(a.size(), kPrompts.size());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].tokens.size(), 9u) << "result " << i;
    EXPECT_EQ(a[i].tokens, b[i].tokens) << "result " << i;
    const int64_t context = static_cast<int64_t>(kPrompts[i].size()) + 9;
    for (size_t j = 0; j < a[i].logprobs.size(); ++j)
      // Tolerance: the worst case of fp32 reassociation (above), from the model's sizes and the
      // context; the differences measured here reach 0.3 of it.
      EXPECT_NEAR(a[i].logprobs[j], b[i].logprobs[j], fp32_reassociation_tolerance(c, context, a[i].logprobs[j]))
          << "result " << i << ", token " << j;
  }
  // A prompt's samples depend on its index, not on what else is in the batch (same batch size,
  // so the same arithmetic: the tokens must be identical).
  const auto spec = sampling(9, 3, 5);
  const auto all = one.generate(kPrompts, spec);
  const auto alone = one.generate({kPrompts[0], kPrompts[1]}, spec);
  ASSERT_EQ(alone.size(), 6u);
  for (size_t i = 0; i < alone.size(); ++i) EXPECT_EQ(alone[i].tokens, all[i].tokens) << "result " << i;
}

INSTANTIATE_TEST_SUITE_P(LlamaAndNeo, EngineFamilies, ::testing::Values(0, 1));

TEST(Engine, SamplesDifferAndSeedsReproduce) {
  const auto m = make_model(testing::tiny_llama(), testing::llama_tensors(testing::tiny_llama(), 23));
  Engine engine(m, batch(8));
  const auto a = engine.generate({kPrompts[1]}, sampling(12, 4, 9));
  const auto b = engine.generate({kPrompts[1]}, sampling(12, 4, 9));
  const auto c = engine.generate({kPrompts[1]}, sampling(12, 4, 10));
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].sample, static_cast<int64_t>(i));
  }
  EXPECT_NE(a[0].tokens, a[1].tokens);
  EXPECT_NE(a[0].tokens, c[0].tokens);
}

TEST(Engine, LogprobsEqualTeacherForcedScores) {
  const auto m = make_model(testing::tiny_llama(), testing::llama_tensors(testing::tiny_llama(), 24));
  Engine engine(m, batch(4));
  const auto gen = engine.generate(kPrompts, sampling(10, 2, 3));
  for (const auto& g : gen) {
    std::vector<int64_t> seq = kPrompts[g.prompt];
    seq.insert(seq.end(), g.tokens.begin(), g.tokens.end());
    const at::Tensor lp = models::score_logprobs(m, at::tensor(seq, at::kLong).unsqueeze(0));
    const int64_t offset = static_cast<int64_t>(kPrompts[g.prompt].size()) - 1;
    // Decoding (one token at a time over the cache) and the teacher-forced forward sum the same
    // fp32 products in other orders. With |log-prob| up to ~7 and n ~ 360 terms on the longest
    // path, random-signed roundings give ~sqrt(n) u |lp| ~ 8e-6 (measured: 6.6e-6); 1e-4 is
    // ~15x that, under the strict worst case n u |lp| ~ 1.5e-4 (fp32_reassociation_tolerance).
    for (size_t j = 0; j < g.tokens.size(); ++j)
      EXPECT_NEAR(g.logprobs[j], lp[0][offset + static_cast<int64_t>(j)].item<float>(), 1e-4) << "position " << j;
  }
}

TEST(Engine, StopTokenEndsSequences) {
  const auto m = make_model(testing::tiny_llama(), testing::llama_tensors(testing::tiny_llama(), 25));
  Engine engine(m, batch(8));
  const auto free_run = engine.generate({kPrompts[2]}, greedy(20));
  const int64_t stop = free_run[0].tokens[5];
  auto spec = greedy(20);
  spec.stop_token = stop;
  const auto stopped = engine.generate({kPrompts[2]}, spec);
  const auto first = std::find(free_run[0].tokens.begin(), free_run[0].tokens.end(), stop) - free_run[0].tokens.begin();
  EXPECT_EQ(static_cast<int64_t>(stopped[0].tokens.size()), first);
}

TEST(Engine, BeamSearchOfFullWidthIsExact) {
  // Width = V and 2 new tokens: beam search keeps every first token, so its answer must be
  // the best of all V^2 continuations, found here by brute force.
  auto c = testing::tiny_llama();
  c.vocab_size = 13;
  const auto m = make_model(c, testing::llama_tensors(c, 26));
  const std::vector<int64_t> prompt = {3, 1, 4};
  DecodeSpec spec;
  spec.mode = DecodeSpec::Mode::beam;
  spec.beam_width = 13;
  spec.max_new_tokens = 2;
  Engine engine(m, batch(16));
  const auto beam = engine.generate({prompt}, spec);
  double best = -INFINITY;
  std::vector<int64_t> best_seq;
  for (int64_t a = 0; a < 13; ++a)
    for (int64_t b = 0; b < 13; ++b) {
      std::vector<int64_t> seq = prompt;
      seq.push_back(a);
      seq.push_back(b);
      const at::Tensor lp = models::score_logprobs(m, at::tensor(seq, at::kLong).unsqueeze(0));
      const double total = lp[0][2].item<double>() + lp[0][3].item<double>();
      if (total > best) best = total, best_seq = {a, b};
    }
  ASSERT_EQ(beam.size(), 1u);
  EXPECT_EQ(beam[0].tokens, best_seq);
  // Two fp32 log-probs of the beam's cached decode against the same two from full forwards:
  // each within fp32 reassociation of the other (the worst case above, context 3 + 2; ~2e-5
  // each at |lp| < 1). Measured: 4e-7.
  EXPECT_NEAR(beam[0].logprobs[0] + beam[0].logprobs[1], best,
              fp32_reassociation_tolerance(c, 5, beam[0].logprobs[0]) + fp32_reassociation_tolerance(c, 5, beam[0].logprobs[1]));
  // Width 1 is greedy.
  spec.beam_width = 1;
  EXPECT_EQ(engine.generate({prompt}, spec)[0].tokens, engine.generate({prompt}, greedy(2))[0].tokens);
}

TEST(Engine, ScoreMatchesLogSoftmaxWithEntropyAndRank) {
  const auto m = make_model(testing::tiny_llama(), testing::llama_tensors(testing::tiny_llama(), 27));
  Engine engine(m, batch(2));
  const std::vector<std::vector<int64_t>> seqs = {{1, 2, 3, 4, 5, 6}, {9, 8}, {50, 60, 70, 80}};
  const auto scored = engine.score(seqs, true, true);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const at::Tensor ids = at::tensor(seqs[i], at::kLong).unsqueeze(0);
    const at::Tensor logits = models::full_logits(m, ids)[0].to(at::kDouble);  // (T, V)
    const at::Tensor logp = at::log_softmax(logits, -1);
    ASSERT_EQ(scored[i].logprob.size(), seqs[i].size() - 1);
    for (size_t j = 0; j + 1 < seqs[i].size(); ++j) {
      const int64_t target = seqs[i][j + 1];
      // score() runs a padded batch of 2, so its fp32 logits come from other GEMM shapes
      // (reassociated: ~sqrt(n) u |logit| ~ 2e-5 at n ~ 330 and |logit| <= 18, on both the
      // target's logit and the log-sum-exp), then log-softmax in double rounded to fp32 (<= 1e-6
      // at |lp| <= 29). 1e-4 covers both; measured: 1.2e-6 on the log-probs, 8.7e-7 on the
      // entropies (<= 2).
      EXPECT_NEAR(scored[i].logprob[j], logp[j][target].item<double>(), 1e-4);
      EXPECT_NEAR(scored[i].entropy[j], -(logp[j].exp() * logp[j]).sum().item<double>(), 1e-4);
      EXPECT_EQ(scored[i].rank[j], (logits[j] > logits[j][target]).sum().item<int64_t>() + 1);
    }
  }
}

TEST(Engine, RejectsBadSpecsAndPrompts) {
  const auto m = make_model(testing::tiny_llama(), testing::llama_tensors(testing::tiny_llama(), 28));
  Engine engine(m);
  auto spec = greedy(4);
  spec.num_samples = 2;
  EXPECT_THROW(engine.generate(kPrompts, spec), Error);
  EXPECT_THROW(engine.generate({{1, 200}}, greedy(4)), Error);
  EXPECT_THROW(engine.generate({{}}, greedy(4)), Error);
  EXPECT_THROW(engine.generate({{1}}, greedy(200)), Error);  // past max positions
  auto s = sampling(4, 1, 0);
  s.sampling.top_p = 0.f;
  EXPECT_THROW(engine.generate(kPrompts, s), Error);
}

// The batching loop of generate() and score(): batches in order; a batch out of memory runs
// again from its first item in batches of half the size, which stays for the rest of the call;
// at one item a batch it is an error, and other exceptions pass through untouched.
TEST(Engine, BatchingLoopHalvesTheBatchOnOutOfMemory) {
  using Calls = std::vector<std::pair<int64_t, int64_t>>;
  const at::Device cpu(at::kCPU);
  Calls calls;
  models::run_in_batches(10, 8, cpu, "unused", [&](int64_t begin, int64_t end) {
    calls.emplace_back(begin, end);
    if (end - begin > 3) C10_THROW_ERROR(OutOfMemoryError, "more than 3 items");
  });
  EXPECT_EQ(calls, (Calls{{0, 8}, {0, 4}, {0, 2}, {2, 4}, {4, 6}, {6, 8}, {8, 10}}));
  calls.clear();
  int64_t failures = 0;  // a failure mid-call: earlier batches are not run again
  models::run_in_batches(7, 3, cpu, "unused", [&](int64_t begin, int64_t end) {
    calls.emplace_back(begin, end);
    if (begin == 3 && failures++ == 0) C10_THROW_ERROR(OutOfMemoryError, "once");
  });
  EXPECT_EQ(calls, (Calls{{0, 3}, {3, 6}, {3, 4}, {4, 5}, {5, 6}, {6, 7}}));
  calls.clear();
  models::run_in_batches(3, 0, cpu, "unused", [&](int64_t begin, int64_t end) { calls.emplace_back(begin, end); });
  EXPECT_EQ(calls, (Calls{{0, 1}, {1, 2}, {2, 3}}));  // a batch size below 1 counts as 1
  calls.clear();
  models::run_in_batches(0, 4, cpu, "unused", [&](int64_t begin, int64_t end) { calls.emplace_back(begin, end); });
  EXPECT_TRUE(calls.empty());

  try {
    models::run_in_batches(5, 4, cpu, "op: out of memory for one item", [&](int64_t, int64_t) {
      C10_THROW_ERROR(OutOfMemoryError, "always");
    });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "op: out of memory for one item");
  }
  calls.clear();
  EXPECT_THROW(models::run_in_batches(5, 4, cpu, "unused",
                                      [&](int64_t begin, int64_t end) {
                                        calls.emplace_back(begin, end);
                                        throw std::runtime_error("not memory");
                                      }),
               std::runtime_error);
  EXPECT_EQ(calls, (Calls{{0, 4}}));
}

}  // namespace
}  // namespace eidetic
