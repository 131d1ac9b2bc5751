// tests/trainer_cpu_test.cpp: the trainer on the CPU. Tiny NeoX and Llama models must memorize a
// repeated random sequence (low loss, greedy reproduction), a run resumed from a checkpoint must
// end with bitwise the weights of an uninterrupted one, the Hugging Face state dict must rebuild
// every family exactly, and the schedule and data order must follow their definitions.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <numeric>
#include <set>

#include <unistd.h>

#include "common/error.h"
#include "kernels/rng.h"
#include "model_util.h"
#include "models/generate.h"
#include "models/presets.h"
#include "models/trainer.h"

namespace eidetic::testing {
namespace {

using models::Model;
using models::TrainOptions;

ModelConfig tiny_neox(int64_t vocab) {
  return neox_config({.vocab = vocab, .hidden = 48, .layers = 2, .heads = 4, .kv_heads = 4, .head_dim = 12,
                      .intermediate = 192, .max_positions = 64},
                     4);
}

ModelConfig small_llama(int64_t vocab) {
  ModelConfig c = tiny_llama();
  c.vocab_size = vocab;
  c.hidden_size = 48;
  c.head_dim = 12;
  c.rotary_dim = 12;
  c.intermediate_size = 128;
  return c;
}

ModelConfig tiny_gpt2() {
  return gpt2_config({.vocab = 53, .hidden = 32, .layers = 2, .heads = 4, .kv_heads = 4, .head_dim = 8,
                      .intermediate = 72, .max_positions = 48});
}

std::vector<int64_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> s;
  for (int64_t i = 0; i < n; ++i) s.push_back(static_cast<int64_t>(kernels::random_bits(seed, 9, 0, i) % vocab));
  return s;
}

// A fixed random sequence repeated `copies` times.
std::vector<int64_t> repeated(const std::vector<int64_t>& seq, int64_t copies) {
  std::vector<int64_t> s;
  for (int64_t i = 0; i < copies; ++i) s.insert(s.end(), seq.begin(), seq.end());
  return s;
}

at::Tensor logits_of(const Model& m, const at::Tensor& ids) { return m.logits(m.forward(ids, at::Tensor(), nullptr)); }

void expect_same_weights(const Model& a, const Model& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(at::equal(pa[i], pb[i])) << "parameter " << i << " differs";
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("eidetic_trainer_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d;
}

// ---- schedule and data order ---------------------------------------------------------------

TEST(TrainerSchedule, WarmupThenCosine) {
  TrainOptions o;
  o.lr = 1e-3;
  o.min_lr_ratio = 0.1;
  o.warmup_steps = 10;
  o.steps = 110;
  // Warm-up: lr * (step + 1) / warmup, one or two roundings from the decimal literal (<= 2 ulp;
  // DOUBLE_EQ allows 4; 0 here).
  EXPECT_DOUBLE_EQ(models::training_lr(o, 0), 1e-4);
  EXPECT_DOUBLE_EQ(models::training_lr(o, 4), 5e-4);
  EXPECT_DOUBLE_EQ(models::training_lr(o, 9), 1e-3);
  // The peak: min_lr + 0.5 * (lr - min_lr) * (1 + cos 0), an ulp or two from lr (0 here).
  EXPECT_DOUBLE_EQ(models::training_lr(o, 10), 1e-3);
  // Halfway through the decay (step 10 + 99/2 is not an integer: check the formula at 43).
  // The same double formula, but with the literals 1e-4 and 9e-4 where the schedule computes
  // 1e-3 * 0.1 and 1e-3 - 1e-3 * 0.1 (each an ulp or two off): the results differ by at most
  // ~3e-19 (a few ulp of 7.75e-4; 0 here). 1e-18 (~9 ulp) bounds that.
  const double p = 33.0 / 99.0;
  EXPECT_NEAR(models::training_lr(o, 43), 1e-4 + 0.5 * 9e-4 * (1 + std::cos(std::numbers::pi * p)), 1e-18);
  // The last step reaches lr * min_lr_ratio: 1 + cos(pi) is exactly 0, so the result is
  // 1e-3 * 0.1, one rounding (<= 1 ulp) from the literal 1e-4 (0 here).
  EXPECT_DOUBLE_EQ(models::training_lr(o, 109), 1e-4);
  for (int64_t s = 11; s < 110; ++s) EXPECT_LT(models::training_lr(o, s), models::training_lr(o, s - 1));
}

TEST(TrainerData, ChunksCoverTheStream) {
  EXPECT_EQ(models::training_chunk_starts(100, 9), (std::vector<int64_t>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}));
  // A remainder: one more chunk ends at the stream's last token.
  EXPECT_EQ(models::training_chunk_starts(25, 9), (std::vector<int64_t>{0, 10, 15}));
  EXPECT_EQ(models::training_chunk_starts(10, 9), (std::vector<int64_t>{0}));
  EXPECT_THROW(models::training_chunk_starts(9, 9), Error);
}

TEST(TrainerData, OrderIsAPermutationOfSeedAndEpoch) {
  const auto a = models::training_chunk_order(5, 0, 1000);
  std::set<int64_t> seen(a.begin(), a.end());
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), 999);
  EXPECT_EQ(a, models::training_chunk_order(5, 0, 1000));
  EXPECT_NE(a, models::training_chunk_order(5, 1, 1000));
  EXPECT_NE(a, models::training_chunk_order(6, 0, 1000));
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(a, identity);
}

// ---- Hugging Face state dict ---------------------------------------------------------------

// Hugging Face tensors with every weight random (norms and biases included).
std::map<std::string, at::Tensor> neox_tensors(const ModelConfig& c, uint64_t seed) {
  at::manual_seed(seed);
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  std::map<std::string, at::Tensor> t;
  t["gpt_neox.embed_in.weight"] = at::randn({V, H});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "gpt_neox.layers." + std::to_string(i) + ".";
    for (const char* n : {"input_layernorm", "post_attention_layernorm"}) add_norm(t, p + n, H);
    add_linear(t, p + "attention.query_key_value", {3 * H, H}, 3 * H, 0.3);
    add_linear(t, p + "attention.dense", {H, H}, H);
    add_linear(t, p + "mlp.dense_h_to_4h", {I, H}, I);
    add_linear(t, p + "mlp.dense_4h_to_h", {H, I}, H);
  }
  add_norm(t, "gpt_neox.final_layer_norm", H);
  t["embed_out.weight"] = at::randn({V, H});
  return t;
}

std::map<std::string, at::Tensor> gpt2_tensors(const ModelConfig& c, uint64_t seed) {
  std::map<std::string, at::Tensor> t = gpt2_embeddings(c, seed);
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "transformer.h." + std::to_string(i) + ".";
    for (const char* n : {"ln_1", "ln_2"}) add_norm(t, p + n, H);
    add_linear(t, p + "attn.c_attn", {H, 3 * H}, 3 * H);  // Conv1D: [in, out]
    add_linear(t, p + "attn.c_proj", {H, H}, H);
    add_linear(t, p + "mlp.c_fc", {H, I}, I);
    add_linear(t, p + "mlp.c_proj", {I, H}, H);
  }
  add_norm(t, "transformer.ln_f", H);
  return t;
}

// hf_state_dict gives back exactly the tensors the model was built from, and rebuilding from it
// gives identical logits.
void expect_round_trip(const ModelConfig& c, const std::map<std::string, at::Tensor>& tensors) {
  const Model m = make_model(c, tensors);
  const auto sd = m.hf_state_dict();
  std::set<std::string> want, got;
  for (const auto& [k, v] : tensors) want.insert(k);
  for (const auto& [k, v] : sd) got.insert(k);
  EXPECT_EQ(got, want) << family_name(c.family);
  for (const auto& [k, v] : tensors) {
    if (!sd.count(k)) continue;
    EXPECT_TRUE(at::equal(sd.at(k), v)) << family_name(c.family) << ": " << k;
  }
  const Model back = make_model(c, sd);
  const at::Tensor ids = at::randint(c.vocab_size, {2, 20});
  EXPECT_TRUE(at::equal(logits_of(m, ids), logits_of(back, ids))) << family_name(c.family);
  expect_same_weights(m, back);
}

TEST(TrainerExport, HfStateDictRoundTripsEveryFamily) {
  expect_round_trip(tiny_llama(), llama_tensors(tiny_llama(), 1));  // grouped-query attention, untied
  expect_round_trip(tiny_gpt_neo(), gpt_neo_tensors(tiny_gpt_neo(), 2));
  expect_round_trip(tiny_neox(61), neox_tensors(tiny_neox(61), 3));
  expect_round_trip(tiny_gpt2(), gpt2_tensors(tiny_gpt2(), 4));
  ModelConfig tied = tiny_llama();
  tied.tied_embeddings = true;
  auto t = llama_tensors(tied, 5);
  t.erase("lm_head.weight");
  expect_round_trip(tied, t);
}

TEST(TrainerExport, ParametersListEveryWeightOnce) {
  const ModelConfig c = tiny_gpt2();  // tied head: counted once
  const Model m = make_model(c, gpt2_tensors(c, 4));
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  EXPECT_EQ(n, c.parameter_count());
  const Model l = make_model(tiny_llama(), llama_tensors(tiny_llama(), 1));
  n = 0;
  for (const auto& p : l.parameters()) n += p.numel();
  EXPECT_EQ(n, tiny_llama().parameter_count());
}

TEST(TrainerExport, SavedFolderLoadsBack) {
  TrainOptions o;
  o.seed = 4;
  for (const ModelConfig& c : {tiny_neox(61), tiny_llama(), tiny_gpt2(), tiny_gpt_neo()}) {
    const Model m = models::new_training_model(c, o);
    const auto dir = fresh_dir(std::string("save_") + family_name(c.family));
    models::save_hf_model(m, dir, "{\"model\": {}}\n");
    const Model back = models::load_model(dir, at::Device(at::kCPU), at::kFloat);
    const at::Tensor ids = at::randint(c.vocab_size, {2, 16});
    EXPECT_TRUE(at::equal(logits_of(m, ids), logits_of(back, ids))) << family_name(c.family);
    std::ifstream tok(dir / "tokenizer.json");
    std::string text((std::istreambuf_iterator<char>(tok)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "{\"model\": {}}\n");
    std::filesystem::remove_all(dir);
  }
}

TEST(TrainerInit, ScalesOutputProjections) {
  ModelConfig c = tiny_neox(61);
  c.num_layers = 8;
  c.hidden_size = 128;
  c.head_dim = 32;
  c.intermediate_size = 512;
  TrainOptions o;
  const auto sd = models::new_training_model(c, o).hf_state_dict();
  const double qkv_std = sd.at("gpt_neox.layers.3.attention.query_key_value.weight").std().item<double>();
  const double out_std = sd.at("gpt_neox.layers.3.attention.dense.weight").std().item<double>();
  const double down_std = sd.at("gpt_neox.layers.3.mlp.dense_4h_to_h.weight").std().item<double>();
  // Sample standard deviations of normal draws: one standard error is sigma / sqrt(2 n), i.e.
  // 6.4e-5 for the qkv matrix (n = 384 x 128), 2.8e-5 for the output projection (128 x 128) and
  // 1.4e-5 for the MLP's down projection (128 x 512). Each tolerance is ~5 standard errors
  // (the seeded draws sit within one), and for the scaled projections below the 2.9e-4 that
  // separates 0.02 / sqrt(2 L) = 0.02 / 4 from 0.02 / sqrt(2 (L + 1)), an off-by-one layer count.
  EXPECT_NEAR(qkv_std, 0.02, 3e-4);
  EXPECT_NEAR(out_std, 0.02 / 4.0, 1.5e-4);
  EXPECT_NEAR(down_std, 0.02 / 4.0, 7e-5);
  EXPECT_TRUE(at::equal(sd.at("gpt_neox.layers.3.input_layernorm.weight"), at::ones({128})));
  EXPECT_TRUE(at::equal(sd.at("gpt_neox.layers.3.attention.dense.bias"), at::zeros({128})));
}

// ---- training ------------------------------------------------------------------------------

// The model memorizes a repeated random sequence: the loss falls far, and greedy decoding from
// a few of its tokens continues it.
void expect_memorizes(const ModelConfig& c) {
  const int64_t period = 96;
  const std::vector<int64_t> seq = random_tokens(period, c.vocab_size, 42);
  TrainOptions o;
  o.steps = 120;
  o.batch_size = 16;
  o.seq_len = 32;
  o.lr = 1e-2;
  o.warmup_steps = 20;
  o.log_every = 20;
  o.seed = 1;
  Model model = models::new_training_model(c, o);
  int64_t reports = 0;
  const models::TrainResult r = models::train_model(model, repeated(seq, 100), o, [&](const models::TrainProgress& p) {
    ++reports;
    EXPECT_EQ(p.steps, 120);
    EXPECT_GT(p.tokens_per_s, 0);
  });
  EXPECT_EQ(reports, 6);
  ASSERT_EQ(r.loss_curve.size(), 6u);
  EXPECT_EQ(r.steps_done, 120);
  EXPECT_EQ(r.resumed_from, 0);
  EXPECT_GT(r.loss_curve.front().second, 2.0) << "the first steps' mean starts near ln(vocab)";
  EXPECT_LT(r.final_loss, 0.5) << family_name(c.family);
  EXPECT_LT(r.loss_curve[2].second, r.loss_curve[0].second);
  EXPECT_LT(r.final_loss, r.loss_curve[1].second);
  std::printf("%s: %.1f s (%.0f tokens/s), loss", family_name(c.family), r.seconds, r.tokens_per_s);
  for (const auto& [step, loss] : r.loss_curve) std::printf(" %lld:%.3f", static_cast<long long>(step), loss);
  std::printf("\n");

  // Greedy continuations of 8-token prompts at a few offsets, within the trained length.
  std::vector<std::vector<int64_t>> prompts, want;
  for (int64_t off : {0, 17, 50, 90}) {
    std::vector<int64_t> p, w;
    for (int64_t i = 0; i < 8; ++i) p.push_back(seq[(off + i) % period]);
    for (int64_t i = 8; i < 32; ++i) w.push_back(seq[(off + i) % period]);
    prompts.push_back(p);
    want.push_back(w);
  }
  const auto gen = models::generate_greedy(model, prompts, 24);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(gen.tokens[i], want[i]) << family_name(c.family) << " prompt " << i;
  for (const auto& p : model.parameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(TrainerTrain, NeoxMemorizesARepeatedSequence) { expect_memorizes(tiny_neox(48)); }
TEST(TrainerTrain, LlamaMemorizesARepeatedSequence) { expect_memorizes(small_llama(48)); }

TEST(TrainerTrain, ResumedRunEqualsUninterruptedBitwise) {
  const ModelConfig c = small_llama(40);
  const std::vector<int64_t> stream = random_tokens(3000, c.vocab_size, 8);
  TrainOptions o;
  o.steps = 20;
  o.batch_size = 6;  // 3000 / 25 = 120 chunks: batches cross epoch boundaries
  o.seq_len = 24;
  o.warmup_steps = 4;
  o.seed = 9;
  o.log_every = 10;

  Model straight = models::new_training_model(c, o);
  const auto r0 = models::train_model(straight, stream, o);
  EXPECT_EQ(r0.steps_done, 20);

  // The same run, interrupted right after its step-10 checkpoint ...
  const auto dir = fresh_dir("resume");
  TrainOptions ck = o;
  ck.checkpoint_dir = dir;
  ck.checkpoint_every = 10;
  struct Interrupt {};
  Model first = models::new_training_model(c, ck);
  EXPECT_THROW(models::train_model(first, stream, ck,
                                   [](const models::TrainProgress& p) {
                                     if (p.step == 10) throw Interrupt{};
                                   }),
               Interrupt);
  for (const auto& p : first.parameters()) EXPECT_FALSE(p.requires_grad());
  ASSERT_TRUE(std::filesystem::exists(dir / "trainer_state.safetensors"));

  // ... and resumed by a fresh call on a fresh model.
  Model resumed = models::new_training_model(c, ck);
  const auto r1 = models::train_model(resumed, stream, ck);
  EXPECT_EQ(r1.resumed_from, 10);
  EXPECT_EQ(r1.steps_done, 20);
  // The checkpoint carries the loss reports so far: the resumed run reports the whole curve.
  // exact: the reports before the checkpoint are read back from it (17 digits, a round trip),
  // those after repeat the same fp32 operations bitwise (what this test is about).
  EXPECT_EQ(r1.loss_curve, r0.loss_curve);
  EXPECT_EQ(r1.final_loss, r0.final_loss);
  expect_same_weights(straight, resumed);

  // A finished checkpoint resumes to no work; a different run is refused.
  Model again = models::new_training_model(c, ck);
  const auto r2 = models::train_model(again, stream, ck);
  EXPECT_EQ(r2.resumed_from, 20);
  EXPECT_EQ(r2.steps_done, 20);
  expect_same_weights(straight, again);
  TrainOptions other = ck;
  other.seed = 10;
  Model m = models::new_training_model(c, other);
  EXPECT_THROW(models::train_model(m, stream, other), Error);
  std::filesystem::remove_all(dir);
}

// Training to a plateau: the rule on a hand-made curve, then a run that stops at its first
// plateau report, holds the learning rate after warm-up, and resumes to the same stop.
TEST(TrainerTrain, StopsAtAPlateauAndResumesThere) {
  using Curve = std::vector<std::pair<int64_t, double>>;
  EXPECT_TRUE(models::training_plateau(Curve{{1, 5}, {2, 4}, {3, 3}, {4, 3.0}, {5, 2.995}}, 2, 0.01));
  EXPECT_FALSE(models::training_plateau(Curve{{1, 5}, {2, 4}, {3, 3}, {4, 2.98}, {5, 3}}, 2, 0.01));
  EXPECT_FALSE(models::training_plateau(Curve{{1, 5}, {2, 5}}, 2, 0.01));  // too short to judge
  EXPECT_FALSE(models::training_plateau(Curve{{1, 5}, {2, 5}, {3, 5}}, 0, 0.01));

  const ModelConfig c = small_llama(40);
  const std::vector<int64_t> stream = random_tokens(3000, c.vocab_size, 8);
  TrainOptions o;
  o.steps = 400;  // the cap
  o.batch_size = 6;
  o.seq_len = 24;
  o.warmup_steps = 4;
  o.seed = 9;
  o.log_every = 5;
  o.plateau_patience = 3;
  o.plateau_min_delta = 0.5;  // half a nat in 3 reports: reached within the cap on random data
  EXPECT_DOUBLE_EQ(models::training_lr(o, 399), o.lr);
  Model straight = models::new_training_model(c, o);
  const auto r0 = models::train_model(straight, stream, o);
  ASSERT_TRUE(r0.plateau);
  EXPECT_LT(r0.steps_done, 400);
  EXPECT_EQ(r0.steps_done % 5, 0);
  EXPECT_EQ(r0.loss_curve.back().first, r0.steps_done);
  EXPECT_TRUE(models::training_plateau(r0.loss_curve, 3, 0.5));
  EXPECT_FALSE(models::training_plateau(Curve(r0.loss_curve.begin(), r0.loss_curve.end() - 1), 3, 0.5)) << "not the first";

  // Interrupted at the first report, resumed: the same stop, curve and weights.
  const auto dir = fresh_dir("plateau");
  TrainOptions ck = o;
  ck.checkpoint_dir = dir;
  ck.checkpoint_every = 5;
  struct Interrupt {};
  Model first = models::new_training_model(c, ck);
  EXPECT_THROW(models::train_model(first, stream, ck,
                                   [](const models::TrainProgress& p) {
                                     if (p.step == 5) throw Interrupt{};
                                   }),
               Interrupt);
  Model resumed = models::new_training_model(c, ck);
  const auto r1 = models::train_model(resumed, stream, ck);
  EXPECT_TRUE(r1.plateau);
  EXPECT_EQ(r1.steps_done, r0.steps_done);
  EXPECT_EQ(r1.loss_curve, r0.loss_curve);
  expect_same_weights(straight, resumed);
  // A run that stopped at its plateau resumes to no work.
  Model again = models::new_training_model(c, ck);
  const auto r2 = models::train_model(again, stream, ck);
  EXPECT_TRUE(r2.plateau);
  EXPECT_EQ(r2.resumed_from, r0.steps_done);
  EXPECT_EQ(r2.steps_done, r0.steps_done);
  expect_same_weights(straight, again);
  std::filesystem::remove_all(dir);
}

TEST(TrainerTrain, SameSeedSameWeightsOtherSeedOtherWeights) {
  const ModelConfig c = tiny_neox(40);
  const std::vector<int64_t> stream = random_tokens(2000, c.vocab_size, 3);
  TrainOptions o;
  o.steps = 5;
  o.batch_size = 4;
  o.seq_len = 16;
  Model a = models::new_training_model(c, o), b = models::new_training_model(c, o);
  models::train_model(a, stream, o);
  models::train_model(b, stream, o);
  expect_same_weights(a, b);
  o.seed = 1;
  Model d = models::new_training_model(c, o);
  models::train_model(d, stream, o);
  EXPECT_FALSE(at::equal(a.parameters()[2], d.parameters()[2]));
}

TEST(TrainerTrain, RejectsBadInputs) {
  const ModelConfig c = tiny_neox(40);
  TrainOptions o;
  o.steps = 2;
  o.seq_len = 16;
  Model m = models::new_training_model(c, o);
  EXPECT_THROW(models::train_model(m, random_tokens(10, 40, 1), o), Error);  // shorter than one sample
  auto bad = random_tokens(200, 40, 1);
  bad[77] = 40;
  EXPECT_THROW(models::train_model(m, bad, o), Error);  // outside the vocabulary
  o.seq_len = 65;
  EXPECT_THROW(models::train_model(m, random_tokens(200, 40, 1), o), Error);  // beyond max_positions
  o.seq_len = 16;
  Model half = models::random_model(c, at::Device(at::kCPU), at::kHalf, 0);
  EXPECT_THROW(models::train_model(half, random_tokens(200, 40, 1), o), Error);  // not float32
}

}  // namespace
}  // namespace eidetic::testing
