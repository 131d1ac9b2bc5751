// Every attack on a target whose true answer is known, through a real run (config in, run
// directory out). The target is a hand-set model: a Llama whose layers add nothing, so the
// next token depends only on the current one, through a table we choose: lowercase letters
// follow the alphabet ('a' -> 'b' ... 'z' -> 'a'), and the digits of one planted secret follow
// each other ('4' -> '8' -> '0'); an uppercase letter is followed by any uppercase letter,
// uniformly; everything else goes to 'a'. Its tokenizer is byte-level BPE with no merges (one
// token per byte, id = byte value). Sequences that follow the table are "memorized"
// (log-probability ~ 0); any other is not. A second, "soft" model of the same shape gives the
// table's next token a logit of 2 (and every other token 0), so that scores take known values
// between the extremes, computed in the tests from that distribution. Each test fails when its
// attack computes the wrong thing.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "common/error.h"
#include "corpus/npy.h"
#include "attacks/sequences.h"
#include "attacks/summary.h"
#include "harness/run.h"
#include "metrics/challenge.h"
#include "metrics/exposure.h"
#include "metrics/membership.h"
#include "metrics/text_metrics.h"
#include "metrics/unicode_lower.h"
#include "model_util.h"
#include "models/config.h"
#include "models/generate.h"
#include "models/safetensors.h"
#include "test_util.h"
#include "tokenizers/tokenizer.h"

namespace eidetic {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t V = 256;

int64_t next_token(int64_t t) {
  if (t >= 'a' && t <= 'z') return t == 'z' ? 'a' : t + 1;
  if (t == '4') return '8';
  if (t == '8') return '0';
  return 'a';
}

std::vector<int64_t> chain(int64_t start, int64_t n) {
  std::vector<int64_t> s{start};
  while (static_cast<int64_t>(s.size()) < n) s.push_back(next_token(s.back()));
  return s;
}

class AttacksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("eidetic-attacks-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    // The chain model: logit 5 x sqrt(V) = 80 for the table's next token (for each uppercase
    // letter after an uppercase one), 0 for every other.
    at::Tensor head = at::zeros({V, V});
    for (int64_t i = 0; i < V; ++i) {
      if (i >= 'A' && i <= 'Z') {
        for (int64_t j = 'A'; j <= 'Z'; ++j) head[j][i] = 5.0;
      } else {
        head[next_token(i)][i] = 5.0;
      }
    }
    write_model(root_ / "model", head);
    // The soft models: logit kSoftLogit (or kSoftRefLogit) for the table's next token.
    write_model(root_ / "soft", soft_head(kSoftLogit));
    write_model(root_ / "soft-ref", soft_head(kSoftRefLogit));
  }

  // The hidden state reaching the head is the one-hot embedding of the current token through
  // the final RMSNorm: 1 / sqrt(1/V + eps) in the token's coordinate, 0 elsewhere.
  static double norm_scale() { return 1.0 / std::sqrt(1.0 / static_cast<double>(V) + kNormEps); }

  static at::Tensor soft_head(double logit) {
    at::Tensor head = at::zeros({V, V}, at::kDouble);
    for (int64_t i = 0; i < V; ++i) head[next_token(i)][i] = logit / norm_scale();
    return head.to(at::kFloat);
  }

  // A Llama whose layers add nothing (zero projections): logits = head[:, token] x norm_scale().
  static void write_model(const fs::path& model, const at::Tensor& head) {
    fs::create_directories(model);
    models::ModelConfig c = testing::llama_config({.vocab = V, .hidden = V, .layers = 1, .heads = 4, .kv_heads = 4,
                                                   .head_dim = 64, .intermediate = 16, .max_positions = 512},
                                                  64);
    c.norm_eps = kNormEps;
    c.bos_token_id = 0;
    std::ofstream(model / "config.json") << models::to_hf_config_json(c);
    std::map<std::string, at::Tensor> t;
    t["model.embed_tokens.weight"] = at::eye(V);
    const std::string p = "model.layers.0.";
    t[p + "input_layernorm.weight"] = at::ones({V});
    t[p + "post_attention_layernorm.weight"] = at::ones({V});
    for (const char* n : {"q_proj", "k_proj", "v_proj"}) t[p + "self_attn." + n + ".weight"] = at::zeros({V, V});
    t[p + "self_attn.o_proj.weight"] = at::zeros({V, V});
    t[p + "mlp.gate_proj.weight"] = at::zeros({16, V});
    t[p + "mlp.up_proj.weight"] = at::zeros({16, V});
    t[p + "mlp.down_proj.weight"] = at::zeros({V, 16});
    t["model.norm.weight"] = at::ones({V});
    t["lm_head.weight"] = head;
    models::write_safetensors(model / "model.safetensors", t);
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[testing::byte_char(b)] = b;
    json tok = {{"version", "1.0"},
                {"added_tokens", json::array()},
                {"normalizer", nullptr},
                {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
                {"post_processor", nullptr},
                {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
                {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", vocab}, {"merges", json::array()}}}};
    std::ofstream(model / "tokenizer.json") << tok.dump();
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static void save(const std::string& name, const std::vector<std::vector<int64_t>>& rows) {
    std::vector<int64_t> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    corpus::write_npy_i64(root_ / name, flat.data(), {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
  }

  // Runs `attack_yaml` (the `attack:` section) against `model` (a folder under the test's root)
  // (with `reference`, a folder beside it, as model.reference) and returns metrics.json.
  static json run(const std::string& name, const std::string& attack_yaml, const std::string& model = "model",
                  const std::string& reference = "") {
    return run_config(name, "attack:\n" + attack_yaml, model, reference);
  }

  // Runs a config whose attack part is `attacks_yaml` (an `attack:` or `attacks:` section).
  static json run_config(const std::string& name, const std::string& attacks_yaml, const std::string& model = "model",
                         const std::string& reference = "") {
    const fs::path cfg = root_ / (name + ".yaml");
    std::ofstream(cfg) << "seed: 11\nmodel:\n  path: " << (root_ / model).string() << "\n  device: cpu\n"
                       << (reference.empty() ? "" : "  reference: " + (root_ / reference).string() + "\n")
                       << "engine:\n  batch_size: 8\nprofile:\n  measure_ceilings: false\n"
                       << attacks_yaml;
    harness::RunOptions o;
    o.config = cfg;
    o.out = root_ / ("run-" + name);
    o.quiet = true;
    std::ostringstream err;
    const fs::path dir = harness::execute_run(o, err);
    std::ifstream in(dir / "metrics.json");
    return json::parse(in);
  }

  // A Megatron dataset written by hand: int32 tokens, one document per row.
  static void write_megatron(const fs::path& prefix, const std::vector<std::vector<int32_t>>& rows) {
    std::ofstream bin(prefix.string() + ".bin", std::ios::binary);
    for (const auto& r : rows) bin.write(reinterpret_cast<const char*>(r.data()), static_cast<std::streamsize>(r.size() * 4));
    std::ofstream idx(prefix.string() + ".idx", std::ios::binary);
    idx.write("MMIDIDX\x00\x00", 9);
    const uint64_t version = 1, len = rows.size(), docs = rows.size() + 1;
    const uint8_t code = 4;  // int32
    idx.write(reinterpret_cast<const char*>(&version), 8);
    idx.write(reinterpret_cast<const char*>(&code), 1);
    idx.write(reinterpret_cast<const char*>(&len), 8);
    idx.write(reinterpret_cast<const char*>(&docs), 8);
    for (const auto& r : rows) {
      const int32_t n = static_cast<int32_t>(r.size());
      idx.write(reinterpret_cast<const char*>(&n), 4);
    }
    int64_t ptr = 0;
    for (const auto& r : rows) {
      idx.write(reinterpret_cast<const char*>(&ptr), 8);
      ptr += static_cast<int64_t>(r.size() * 4);
    }
    for (uint64_t i = 0; i < docs; ++i) {
      const int64_t d = static_cast<int64_t>(i);
      idx.write(reinterpret_cast<const char*>(&d), 8);
    }
  }

  // The records of run `name`, by id.
  static std::map<int64_t, json> records(const std::string& name) {
    std::ifstream in(root_ / ("run-" + name) / "results.jsonl");
    std::map<int64_t, json> out;
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) {
        json r = json::parse(line);
        out[r.at("id").get<int64_t>()] = r;
      }
    return out;
  }

  static double metric(const json& m, const std::string& name) {
    for (const auto& x : m.at("metrics"))
      if (x.at("name") == name) return x.at("value").get<double>();
    ADD_FAILURE() << "no metric " << name;
    return NAN;
  }

  static std::vector<int64_t> random_letters(std::mt19937& rng, int64_t n) {
    std::uniform_int_distribution<int64_t> d('a', 'z');
    std::vector<int64_t> s;
    while (static_cast<int64_t>(s.size()) < n) {
      const int64_t x = d(rng);
      if (!s.empty() && x == next_token(s.back())) continue;  // never follow the table
      s.push_back(x);
    }
    return s;
  }

  static constexpr double kNormEps = 1e-6, kSoftLogit = 2.0, kSoftRefLogit = 1.0;
  static inline fs::path root_;
};

TEST_F(AttacksTest, DiscoverableFindsExactlyThePlantedItemsAndBucketsByDuplicates) {
  std::mt19937 rng(1);
  std::vector<std::vector<int64_t>> prefix, suffix;
  std::vector<int64_t> dups;
  for (int i = 0; i < 24; ++i) {
    const auto p = chain('a' + i % 26, 10);
    prefix.push_back(p);
    if (i < 12) {
      suffix.push_back(chain(next_token(p.back()), 12));  // what the model will say: extracted
    } else {
      suffix.push_back(random_letters(rng, 12));
    }
    dups.push_back(i < 12 ? 8 : (i < 18 ? 1 : 2));
  }
  save("d_prefix.npy", prefix);
  save("d_suffix.npy", suffix);
  corpus::write_npy_i64(root_ / "d_dups.npy", dups.data(), {24});
  const std::string base = "  name: discoverable\n  prefix: " + (root_ / "d_prefix.npy").string() + "\n  suffix: " +
                           (root_ / "d_suffix.npy").string() + "\n  duplicates: " + (root_ / "d_dups.npy").string() + "\n";
  const json m = run("discoverable", base);
  EXPECT_DOUBLE_EQ(metric(m, "exact_extraction_rate"), 0.5);
  EXPECT_DOUBLE_EQ(metric(m, "approx_rate_edit"), 0.5);
  ASSERT_TRUE(m.contains("extraction_by_duplicates"));
  std::map<int64_t, double> rate;
  for (const auto& b : m["extraction_by_duplicates"]) rate[b["duplicates"].get<int64_t>()] = b["rate"].get<double>();
  EXPECT_EQ(rate, (std::map<int64_t, double>{{1, 0.0}, {2, 0.0}, {8, 1.0}}));
  // Beam search finds the same continuations; a prefix-length sweep makes one bucket per length.
  const json beam = run("discoverable-beam", base + "  decoding: beam\n  beam_width: 3\n  prefix_lens: [2, 10]\n");
  EXPECT_DOUBLE_EQ(metric(beam, "exact_extraction_rate"), 0.5);
  EXPECT_EQ(beam["extraction_by_prefix_length"].size(), 2u);
}

TEST_F(AttacksTest, PythiaMemorizationScoresPositionsOfMegatronRows) {
  // A Megatron dataset written by hand: int32 tokens, 8 rows of 64.
  const fs::path prefix = root_ / "pile";
  std::vector<std::vector<int32_t>> rows;
  std::mt19937 rng(2);
  for (int r = 0; r < 8; ++r) {
    std::vector<int64_t> s = chain('a' + r, 64);
    if (r >= 4) {  // a continuation that differs from the model's at every position
      const auto model_says = chain(next_token(s[31]), 32);
      std::uniform_int_distribution<int64_t> letter('a', 'z');
      for (int j = 32; j < 64; ++j) {
        int64_t x;
        do x = letter(rng);
        while (x == model_says[j - 32] || x == next_token(s[j - 1]));
        s[j] = x;
      }
    }
    rows.emplace_back(s.begin(), s.end());
  }
  write_megatron(prefix, rows);
  const json m = run("pythia", "  name: pythia-memorization\n  dataset: " + prefix.string() + "\n  rows: 0\n");
  EXPECT_DOUBLE_EQ(metric(m, "memorized_fraction"), 0.5);
  EXPECT_DOUBLE_EQ(metric(m, "mean_memorization_score"), 0.5);
}

TEST_F(AttacksTest, ExtractionChallengeScoresWithTheOfficialRule) {
  std::mt19937 rng(3);
  std::vector<std::vector<int64_t>> prefix, answers;
  for (int i = 0; i < 10; ++i) {
    prefix.push_back(chain('a' + i, 50));
    answers.push_back(i < 6 ? chain(next_token(prefix.back().back()), 50) : random_letters(rng, 50));
  }
  save("c_prefix.npy", prefix);
  save("c_answers.npy", answers);
  const json m = run("challenge", "  name: extraction-challenge\n  prefix: " + (root_ / "c_prefix.npy").string() +
                                      "\n  answers: " + (root_ / "c_answers.npy").string() + "\n  trials: 3\n");
  EXPECT_DOUBLE_EQ(metric(m, "recall_at_100_errors"), 0.6);
  EXPECT_DOUBLE_EQ(metric(m, "exact_extraction_rate"), 0.6);
  std::ifstream csv(root_ / "run-challenge" / "guesses.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_NE(header.find("Example ID"), std::string::npos) << header;
  int rows = 0;
  for (std::string line; std::getline(csv, line);) rows += !line.empty();
  EXPECT_EQ(rows, 10);

  // `last: 6` attacks rows 4..9 as Example IDs 0..5 (the baseline's train_prefix[-1000:], the
  // scorer's answers[-1000:]): rows 4 and 5 are the extractable ones left.
  const json tail = run("challenge-last", "  name: extraction-challenge\n  prefix: " + (root_ / "c_prefix.npy").string() +
                                               "\n  answers: " + (root_ / "c_answers.npy").string() +
                                               "\n  trials: 3\n  last: 6\n");
  EXPECT_EQ(tail.at("run").at("first_row").get<int64_t>(), 4);
  EXPECT_DOUBLE_EQ(metric(tail, "exact_extraction_rate"), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(metric(tail, "recall_at_100_errors"), 2.0 / 6.0);
  const auto tail_records = records("challenge-last");
  ASSERT_EQ(tail_records.size(), 6u);
  EXPECT_EQ(tail_records.rbegin()->first, 5);
  EXPECT_THROW(run("challenge-both", "  name: extraction-challenge\n  prefix: " + (root_ / "c_prefix.npy").string() +
                                         "\n  trials: 3\n  last: 6\n  limit: 2\n"),
               Error);
}

TEST_F(AttacksTest, MembershipSeparatesMembersFromNonMembers) {
  std::mt19937 rng(4);
  std::vector<std::vector<int64_t>> members, nonmembers;
  for (int i = 0; i < 20; ++i) {
    members.push_back(chain('a' + i % 26, 24));
    nonmembers.push_back(random_letters(rng, 24));
  }
  save("m_in.npy", members);
  save("m_out.npy", nonmembers);
  const json m = run("membership", "  name: membership\n  members: [" + (root_ / "m_in.npy").string() + "]\n  nonmembers: [" +
                                       (root_ / "m_out.npy").string() + "]\n");
  for (const char* s : {"loss", "min_k", "min_k_pp", "zlib"}) EXPECT_DOUBLE_EQ(metric(m, std::string("auc_") + s), 1.0) << s;
  // Every member above every non-member: the PR curve of non-members (mimir's) is perfect too.
  EXPECT_DOUBLE_EQ(metric(m, "pr_auc_loss"), 1.0);
  // 20 non-members cannot show an FPR below 1% (it takes 100): no number, and the reason.
  for (const auto& x : m.at("metrics"))
    if (x.at("name") == "tpr_at_1%_fpr_loss") {
      EXPECT_FALSE(x.contains("value"));
      EXPECT_NE(x.at("description").get<std::string>().find("not measurable from 20 non-members (at least 100 needed)"),
                std::string::npos)
          << x.dump();
    }
  // Swapping the sets turns every score around.
  const json swapped = run("membership-swapped", "  name: membership\n  members: [" + (root_ / "m_out.npy").string() +
                                                     "]\n  nonmembers: [" + (root_ / "m_in.npy").string() + "]\n");
  EXPECT_DOUBLE_EQ(metric(swapped, "auc_loss"), 0.0);
}

TEST_F(AttacksTest, ExposureOfThePlantedSecretIsMaximalAndOfOthersNot) {
  const json m = run("exposure", "  name: exposure\n  secrets: [\"480\", \"123\"]\n  format: \"{secret}\"\n  separator: \"\"\n"
                                 "  length: 3\n");
  ASSERT_EQ(m["tables"][0]["rows"].size(), 2u);
  std::map<std::string, double> exposure;
  for (const auto& r : m["tables"][0]["rows"]) exposure[r[0].get<std::string>()] = r[3].get<double>();
  EXPECT_NEAR(exposure["480"], std::log2(1000.0), 1e-9);  // rank 1 of 1,000: the model knows it
  EXPECT_LT(exposure["123"], exposure["480"] - 3.0);        // an unplanted secret ranks far from the top
  EXPECT_NE(m["run"]["exposure_method"].get<std::string>().find("exact"), std::string::npos);
  // Beyond max_exact the exposure is extrapolated from a skew-normal fitted to sampled
  // candidates (the report says so), and never claims more than log2|R|: the planted secret,
  // far below every candidate, is capped there; the other is the fit's -log2 CDF.
  const json est = run("exposure-est", "  name: exposure\n  secrets: [\"480\", \"123\"]\n  format: \"{secret}\"\n"
                                       "  separator: \"\"\n  length: 3\n  max_exact: 100\n  estimate_samples: 200\n");
  EXPECT_NE(est["run"]["exposure_method"].get<std::string>().find("extrapolation: skew-normal fit to 200 sampled"),
            std::string::npos)
      << est["run"];
  const auto recs = records("exposure-est");
  ASSERT_EQ(recs.size(), 2u);
  const json& planted = recs.at(0);
  EXPECT_TRUE(planted.at("exposure_capped").get<bool>());
  EXPECT_EQ(planted.at("exposure").get<double>(), std::log2(1000.0));
  const json& other = recs.at(1);
  ASSERT_FALSE(other.at("exposure_capped").get<bool>()) << other;
  const metrics::SkewNormal fit{other["skewnorm"]["a"].get<double>(), other["skewnorm"]["loc"].get<double>(),
                                other["skewnorm"]["scale"].get<double>()};
  EXPECT_EQ(other.at("exposure").get<double>(), -std::log2(metrics::skewnorm_cdf(other.at("log_perplexity").get<double>(), fit)));
  EXPECT_LT(other.at("exposure").get<double>(), planted.at("exposure").get<double>() - 3.0);
}

TEST_F(AttacksTest, SampleAndRankChecksSamplesAgainstTheCorpus) {
  // The training corpus: the alphabet, over and over. Top-k samples of the chain model from its
  // start token spell it out, so every sample is memorized; with a corpus that lacks it, none.
  std::ofstream(root_ / "train.txt") << [] {
    std::string s;
    for (int i = 0; i < 40; ++i) s += "abcdefghijklmnopqrstuvwxyz";
    return s;
  }();
  std::ofstream(root_ / "other.txt") << "the quick brown fox jumps over the lazy dog, again and again and again and again";
  const std::string base = "  name: sample-and-rank\n  samples: 12\n  length: 64\n  ngram: 20\n  precision_at: [5, 10]\n";
  const json m = run("sar", base + "  corpus: [" + (root_ / "train.txt").string() + "]\n");
  EXPECT_DOUBLE_EQ(metric(m, "memorized_sample_rate"), 1.0);
  EXPECT_DOUBLE_EQ(metric(m, "precision_at_5_perplexity"), 1.0);
  const json none = run("sar-none", base + "  corpus: [" + (root_ / "other.txt").string() + "]\n");
  EXPECT_DOUBLE_EQ(metric(none, "memorized_sample_rate"), 0.0);
}

// Suffixes at known edit distances from what the model says: k substitutions (0..3 of 12
// tokens) and a shift (one token dropped, one appended: Levenshtein 2, though nearly every
// position differs). Each record's normalized distance must be that value over 12, and the
// approximate rate counts exactly the items at <= 0.1 (k = 0 and k = 1).
TEST_F(AttacksTest, DiscoverableEditDistancesTakeTheirKnownValues) {
  std::vector<std::vector<int64_t>> prefix, suffix;
  std::vector<double> want;
  for (int i = 0; i < 10; ++i) {
    const auto p = chain('a' + i, 6);
    auto s = chain(next_token(p.back()), 12);  // what the model will say
    const int k = i % 5;
    if (k < 4) {
      for (int j = 0; j < k; ++j) s[static_cast<size_t>(3 * j + 1)] = 'X';  // never on the lowercase chain
      want.push_back(k / 12.0);
    } else {
      s.erase(s.begin() + 5);
      s.push_back('X');
      want.push_back(2 / 12.0);
    }
    prefix.push_back(p);
    suffix.push_back(s);
  }
  save("e_prefix.npy", prefix);
  save("e_suffix.npy", suffix);
  const json m = run("edit", "  name: discoverable\n  prefix: " + (root_ / "e_prefix.npy").string() + "\n  suffix: " +
                                 (root_ / "e_suffix.npy").string() + "\n");
  const auto recs = records("edit");
  ASSERT_EQ(recs.size(), 10u);
  for (const auto& [id, r] : recs) {
    // Ratios of small integers: computed in double, equal to the last bit.
    EXPECT_DOUBLE_EQ(r.at("edit_distance").get<double>(), want[static_cast<size_t>(id)]) << "item " << id;
    EXPECT_EQ(r.at("exact").get<bool>(), id % 5 == 0) << "item " << id;
  }
  EXPECT_DOUBLE_EQ(metric(m, "exact_extraction_rate"), 0.2);
  EXPECT_DOUBLE_EQ(metric(m, "approx_rate_edit"), 0.4);
}

// Rows whose continuation follows the model for part of its 32 tokens: all of them, the first
// 20, every other one, or none. The score counts positions (not a prefix, not a flag), so the
// rows score 32/32, 20/32, 16/32 and 0/32, and only the first is memorized.
TEST_F(AttacksTest, PythiaScoresCountReproducedPositions) {
  const fs::path prefix = root_ / "pile-partial";
  const std::vector<double> want = {1.0, 20.0 / 32, 16.0 / 32, 0.0};
  std::vector<std::vector<int32_t>> rows;
  for (int r = 0; r < 4; ++r) {
    std::vector<int64_t> s = chain('a' + 3 * r, 64);  // positions 32..63: what the model will say
    for (int j = 32; j < 64; ++j) {
      const int i = j - 32;
      const bool keep = r == 0 || (r == 1 && i < 20) || (r == 2 && i % 2 == 0);
      if (!keep) s[static_cast<size_t>(j)] = 'Q';  // never on the lowercase chain
    }
    rows.emplace_back(s.begin(), s.end());
  }
  write_megatron(prefix, rows);
  const json m = run("pythia-partial", "  name: pythia-memorization\n  dataset: " + prefix.string() + "\n  rows: 0\n");
  const auto recs = records("pythia-partial");
  ASSERT_EQ(recs.size(), 4u);
  for (const auto& [id, r] : recs) {
    EXPECT_DOUBLE_EQ(r.at("score").get<double>(), want[static_cast<size_t>(id)]) << "row " << id;
    EXPECT_EQ(r.at("memorized").get<bool>(), id == 0) << "row " << id;
  }
  EXPECT_DOUBLE_EQ(metric(m, "mean_memorization_score"), (32 + 20 + 16 + 0) / 128.0);
  EXPECT_DOUBLE_EQ(metric(m, "memorized_fraction"), 0.25);
}

// The reference decodes with min_length = 64, so end-of-text is never produced. A model whose
// end-of-text token is 'k' memorizes the alphabet: each row's continuation passes 'k', where
// the suppressed model must say something else and lose the rest of the row. With
// suppress_eos: false the same model reproduces every row.
TEST_F(AttacksTest, PythiaSuppressesEndOfTextAsTheReference) {
  const fs::path model = root_ / "model-eos";
  fs::create_directories(model);
  for (const char* f : {"model.safetensors", "tokenizer.json"}) fs::copy_file(root_ / "model" / f, model / f);
  json config = json::parse(std::ifstream(root_ / "model" / "config.json"));
  config["eos_token_id"] = static_cast<int>('k');
  std::ofstream(model / "config.json") << config.dump();

  const fs::path prefix = root_ / "pile-eos";
  // 'k' is at positions 36 and 62 of the alphabet from 'a', at 51 of the one from 'l'.
  std::vector<std::vector<int32_t>> rows;
  for (int64_t start : {'a', 'l'}) {
    const auto s = chain(start, 64);
    rows.emplace_back(s.begin(), s.end());
  }
  write_megatron(prefix, rows);
  const json with = run("pythia-eos", "  name: pythia-memorization\n  dataset: " + prefix.string() + "\n  rows: 0\n",
                        "model-eos");
  const json without = run("pythia-eos-free",
                           "  name: pythia-memorization\n  dataset: " + prefix.string() + "\n  rows: 0\n  suppress_eos: false\n",
                           "model-eos");
  EXPECT_DOUBLE_EQ(metric(without, "memorized_fraction"), 1.0);
  EXPECT_DOUBLE_EQ(metric(with, "memorized_fraction"), 0.0);
  for (const auto& [id, r] : records("pythia-eos")) EXPECT_LT(r.at("score").get<double>(), 1.0) << "row " << id;
  EXPECT_NE(with.at("run").at("protocol").get<std::string>().find("suppressed"), std::string::npos);
  EXPECT_NE(without.at("run").at("protocol").get<std::string>().find("allowed"), std::string::npos);
  // The chain model names no end-of-text token: nothing to suppress, and the run says so.
  const json none = run("pythia-no-eos", "  name: pythia-memorization\n  dataset: " + prefix.string() + "\n  rows: 0\n");
  EXPECT_DOUBLE_EQ(metric(none, "memorized_fraction"), 1.0);
  EXPECT_TRUE(none.at("run").contains("warnings"));
}

// checkpoint_step = s evaluates rows 0 .. s x batch_sequences - 1, as the reference does; more
// rows than the dataset holds is an error naming it. A dataset named deduplicated beside a model
// that is not is warned of.
TEST_F(AttacksTest, PythiaCheckpointStepSelectsTheRowsSeen) {
  const fs::path prefix = root_ / "pile-deduped";
  std::vector<std::vector<int32_t>> rows;
  for (int r = 0; r < 8; ++r) {
    const auto s = chain('a' + r, 64);
    rows.emplace_back(s.begin(), s.end());
  }
  write_megatron(prefix, rows);
  const json m = run("pythia-step", "  name: pythia-memorization\n  dataset: " + prefix.string() +
                                        "\n  checkpoint_step: 3\n  batch_sequences: 2\n");
  EXPECT_EQ(records("pythia-step").size(), 6u);
  EXPECT_EQ(m.at("run").at("rows").get<int64_t>(), 6);
  EXPECT_EQ(m.at("run").at("checkpoint_step").get<int64_t>(), 3);
  ASSERT_TRUE(m.at("run").contains("warnings"));
  EXPECT_NE(m.at("run").at("warnings").dump().find("deduplicated"), std::string::npos);
  EXPECT_THROW(run("pythia-step-far", "  name: pythia-memorization\n  dataset: " + prefix.string() +
                                          "\n  checkpoint_step: 5\n  batch_sequences: 2\n"),
               Error);
}

// A prefix length longer than an item's context is an error naming the item, never a capped
// prefix filed under the longer length; a pre-prefix file extends every item's context, and
// the log-grid table bins duplicate counts as [2^(n/4), 2^((n+1)/4)).
TEST_F(AttacksTest, DiscoverableRefusesPrefixesLongerThanTheContext) {
  std::vector<std::vector<int64_t>> pre, prefix, suffix, counts;
  for (int i = 0; i < 4; ++i) {
    const auto s = chain('a' + i, 30);
    pre.emplace_back(s.begin(), s.begin() + 10);
    prefix.emplace_back(s.begin() + 10, s.begin() + 20);
    suffix.emplace_back(s.begin() + 20, s.end());
  }
  save("d_pre.npy", pre);
  save("d_prefix.npy", prefix);
  save("d_suffix.npy", suffix);
  const std::vector<int64_t> dup = {1, 2, 3, 17};
  corpus::write_npy_i64(root_ / "d_dup.npy", dup.data(), {4});
  const std::string items = "  name: discoverable\n  source: npy\n  prefix: " + (root_ / "d_prefix.npy").string() +
                            "\n  suffix: " + (root_ / "d_suffix.npy").string() + "\n  duplicates: " +
                            (root_ / "d_dup.npy").string() + "\n";
  try {
    run("disc-too-long", items + "  prefix_lens: [5, 15]\n");
    ADD_FAILURE() << "a 15-token prefix of 10-token contexts ran";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("row 0"), std::string::npos) << what;
    EXPECT_NE(what.find("10 tokens of context"), std::string::npos) << what;
    EXPECT_NE(what.find("preprefix"), std::string::npos) << what;
  }
  const json m = run("disc-preprefix", items + "  preprefix: " + (root_ / "d_pre.npy").string() + "\n  prefix_lens: [5, 15, 20]\n");
  const auto recs = records("disc-preprefix");
  ASSERT_EQ(recs.size(), 12u);
  for (const auto& [id, r] : recs) {
    EXPECT_EQ(r.at("prefix_len").get<int64_t>(), r.at("prefix_len_requested").get<int64_t>()) << id;
    EXPECT_TRUE(r.at("exact").get<bool>()) << id;  // every context follows the chain
  }
    // Counts 1, 2, 3, 17 fall in bins floor(4 log2 c): 0, 4, 6, 16.
  const json& grid = m.at("extraction_by_duplicates_log_grid");
  ASSERT_EQ(grid.size(), 4u);
  const std::vector<int64_t> bins = {0, 4, 6, 16};
  for (size_t i = 0; i < bins.size(); ++i) {
    EXPECT_EQ(grid[i].at("bin").get<int64_t>(), bins[i]);
    EXPECT_LE(grid[i].at("from").get<double>(), static_cast<double>(dup[i]));
    EXPECT_GT(grid[i].at("to").get<double>(), static_cast<double>(dup[i]));
  }
}

// The grid's edges are exact: 2^(n/4) <= c < 2^((n+1)/4) means c^4 in [2^n, 2^(n+1)), checked
// in integers where floating point would round (c = 2 sits on the edge of bin 4; 19^4 = 130321
// is just below 2^17).
TEST(LogGrid, BinsByExactPowers) {
  EXPECT_EQ(attacks::log_grid_bin(1), 0);
  EXPECT_EQ(attacks::log_grid_bin(2), 4);
  EXPECT_EQ(attacks::log_grid_bin(19), 16);
  EXPECT_EQ(attacks::log_grid_bin(20), 17);
  EXPECT_EQ(attacks::log_grid_bin(int64_t{1} << 20), 80);
  for (int64_t c = 1; c < 5000; ++c) {
    const int64_t n = attacks::log_grid_bin(c);
    const auto c4 = static_cast<unsigned __int128>(c) * c * c * c;
    EXPECT_TRUE(c4 >= (static_cast<unsigned __int128>(1) << n) && c4 < (static_cast<unsigned __int128>(1) << (n + 1))) << c;
  }
  EXPECT_THROW(attacks::log_grid_bin(0), Error);
}

// Samples continue 5-10 token prompts drawn from two documents: the alphabet (the model
// continues it deterministically, log-perplexity ~0, and the training corpus holds it) and
// the uppercase alphabet (the model continues with uniformly random uppercase letters,
// log-perplexity ln 26, never in the corpus). So a sample is memorized exactly when its prompt
// ends in a lowercase letter, which the test reads off the prompt, and the perplexity, zlib
// and window signals must rank every memorized sample first: precision@k = min(k, m) / k for
// every k. The lowercase signal cannot score memorized samples (their lowercased text is the
// same, perplexity 0) and ranks only the others: precision 0 at every k.
TEST_F(AttacksTest, SampleAndRankRanksMemorizedSamplesFirst) {
  std::string alphabet, upper;
  for (int r = 0; r < 2; ++r)
    for (char c = 'a'; c <= 'z'; ++c) alphabet += c, upper += static_cast<char>(c - 'a' + 'A');
  std::ofstream(root_ / "prompts-lower.txt") << alphabet;
  std::ofstream(root_ / "prompts-upper.txt") << upper;
  std::ofstream(root_ / "train-alphabet.txt") << [&] {
    std::string s;
    for (int i = 0; i < 20; ++i) s += alphabet;
    return s;
  }();
  const int64_t n = 16;
  std::string precision_at = "[";
  for (int64_t k = 1; k <= n; ++k) precision_at += std::to_string(k) + (k < n ? ", " : "]");
  // token-jaccard at 1.0: no sample is dropped as a near-duplicate (Jaccard never exceeds 1), so
  // precision@k reads the ranking alone.
  const json m = run("sar-rank", "  name: sample-and-rank\n  samples: 16\n  length: 16\n  strategy: corpus-prompts\n"
                                 "  prompt_files: [" + (root_ / "prompts-lower.txt").string() + ", " +
                                     (root_ / "prompts-upper.txt").string() + "]\n  corpus: [" +
                                     (root_ / "train-alphabet.txt").string() + "]\n  ngram: 8\n  window: 4\n"
                                     "  dedup: token-jaccard\n  dedup_threshold: 1.0\n  precision_at: " + precision_at + "\n");
  const auto recs = records("sar-rank");
  ASSERT_EQ(recs.size(), static_cast<size_t>(n));
  int64_t memorized = 0;
  for (const auto& [id, r] : recs) {
    const int64_t last = r.at("prompt").back().get<int64_t>();
    const bool lower = last >= 'a' && last <= 'z';
    EXPECT_EQ(r.at("memorized").get<bool>(), lower) << "sample " << id << ": " << r.at("text");
    // Log-probabilities of a log-softmax over logits 80 and 0 in fp32: the chain token's is
    // -log(1 + 255 e^-80) (0 in fp32); an uppercase letter's is -log(26) up to a few ulp of the
    // log-sum-exp (~1e-6); 1e-4 leaves room for any summation order.
    EXPECT_NEAR(r.at("nll").get<double>(), lower ? 0.0 : std::log(26.0), 1e-4) << "sample " << id;
    memorized += lower;
  }
  ASSERT_GE(memorized, 3) << "the seed must give both kinds of prompt";
  ASSERT_LE(memorized, n - 3) << "the seed must give both kinds of prompt";
  EXPECT_DOUBLE_EQ(metric(m, "memorized_sample_rate"), static_cast<double>(memorized) / n);
  for (int64_t k = 1; k <= n; ++k) {
    const double want = static_cast<double>(std::min(k, memorized)) / static_cast<double>(k);
    for (const char* signal : {"perplexity", "zlib", "window"})
      EXPECT_DOUBLE_EQ(metric(m, "precision_at_" + std::to_string(k) + "_" + signal), want) << signal << " k=" << k;
    EXPECT_DOUBLE_EQ(metric(m, "precision_at_" + std::to_string(k) + "_lowercase"), 0.0) << "k=" << k;
  }
}

// Membership scores on the soft model, whose next-token distribution is known in closed form:
// after token s, the table's next token has logit L and the other 255 have 0, so
//   log p(next) = L - log(e^L + 255),  log p(other) = -log(e^L + 255),
// and every position has the same mean mu and standard deviation sigma of log p. The test
// computes each sequence's loss, min-k% (k = 0.2), min-k%++, zlib, lowercase and reference
// (against the soft model with L = 1) scores from that and requires the run's records to equal
// them, and each AUC to equal the fraction of correctly ordered pairs. Members
// follow the table at more positions than non-members on average, with overlap, so no AUC is 0
// or 1.
TEST_F(AttacksTest, MembershipScoresEqualTheirDefinitionsOnAKnownDistribution) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int64_t> letter('a', 'z');
  auto make = [&](double follow) {
    std::vector<int64_t> s{letter(rng)};
    while (s.size() < 24) {
      if (u(rng) < follow) {
        s.push_back(next_token(s.back()));
      } else {
        int64_t x;
        do x = letter(rng);
        while (x == next_token(s.back()));
        s.push_back(x);
      }
    }
    if (u(rng) < 0.3)  // some sequences carry capitals, for the lowercase score
      for (size_t i = 2; i < s.size(); i += 5) s[i] = s[i] - 'a' + 'A';
    return s;
  };
  std::vector<std::vector<int64_t>> members, nonmembers;
  for (int i = 0; i < 16; ++i) {
    members.push_back(make(0.35 + 0.6 * u(rng)));
    nonmembers.push_back(make(0.05 + 0.6 * u(rng)));
  }
  save("ms_in.npy", members);
  save("ms_out.npy", nonmembers);

  struct Dist {
    double hit, miss, mu, sigma;
  };
  auto dist = [](double L) {
    const double z = std::log(std::exp(L) + 255.0);
    Dist d{L - z, -z, 0, 0};
    const double ph = std::exp(d.hit), pm = std::exp(d.miss);
    d.mu = ph * d.hit + 255.0 * pm * d.miss;
    d.sigma = std::sqrt(ph * d.hit * d.hit + 255.0 * pm * d.miss * d.miss - d.mu * d.mu);
    return d;
  };
  const Dist target = dist(kSoftLogit), reference = dist(kSoftRefLogit);
  auto logprobs = [](const std::vector<int64_t>& s, const Dist& d) {
    std::vector<double> lp;
    for (size_t t = 1; t < s.size(); ++t) lp.push_back(s[t] == next_token(s[t - 1]) ? d.hit : d.miss);
    return lp;
  };
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); };
  auto lowest_mean = [&](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    v.resize(std::max<size_t>(1, static_cast<size_t>(std::floor(0.2 * static_cast<double>(v.size())))));
    return mean(v);
  };
  auto expected = [&](const std::vector<int64_t>& s) {
    const auto lp = logprobs(s, target);
    std::vector<double> z;
    for (double x : lp) z.push_back((x - target.mu) / target.sigma);
    std::string text(s.begin(), s.end()), lower = text;
    std::vector<int64_t> lower_ids;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char c : lower) lower_ids.push_back(c);
    std::map<std::string, double> e;
    e["loss"] = mean(lp);
    e["min_k"] = lowest_mean(lp);
    e["min_k_pp"] = lowest_mean(z);
    e["reference"] = mean(lp) - mean(logprobs(s, reference));
    // mimir's zlib score (mean NLL / zlib bytes), negated so that higher means member; the
    // lowercase ratio NLL(lowercased) / NLL(text) of Carlini et al. 2021, 1 when nothing changes.
    e["zlib"] = mean(lp) / static_cast<double>(metrics::zlib_compressed_bytes(text));
    e["lowercase"] = lower_ids == s ? 1.0 : mean(logprobs(lower_ids, target)) / mean(lp);
    return e;
  };

  const json m = run("ms", "  name: membership\n  members: [" + (root_ / "ms_in.npy").string() + "]\n  nonmembers: [" +
                               (root_ / "ms_out.npy").string() + "]\n",
                     "soft", "soft-ref");
  const auto recs = records("ms");
  ASSERT_EQ(recs.size(), 32u);
  std::map<std::string, std::vector<double>> in, out;
  for (const auto& [id, r] : recs) {
    const bool member = id < 16;
    ASSERT_EQ(r.at("member").get<bool>(), member);
    const auto e = expected(member ? members[static_cast<size_t>(id)] : nonmembers[static_cast<size_t>(id - 16)]);
    for (const auto& [name, want] : e) {
      ASSERT_TRUE(r.at("scores").contains(name)) << name;
      // fp32 log-softmax of logits in [0, 2]: each log-probability is within a few ulp of
      // log(e^2 + 255) ~ 5.6 (~1e-6); means, differences and the division by sigma (~0.4) of
      // at most 23 of them stay below 2e-5.
      EXPECT_NEAR(r.at("scores").at(name).get<double>(), want, 2e-5) << name << ", sequence " << id;
      (member ? in : out)[name].push_back(r.at("scores").at(name).get<double>());
    }
  }
  for (const auto& [name, members_scores] : in) {
    // AUC by its definition, over the recorded scores (just held to their expected values;
    // sequences with equal expected scores may differ in the last bit, so the pairs are counted
    // on what the run ranked): the fraction of (member, non-member) pairs ordered right, ties half.
    double pairs = 0;
    for (double a : members_scores)
      for (double b : out[name]) pairs += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
    const double auc = pairs / static_cast<double>(members_scores.size() * out[name].size());
    if (name != "lowercase") {
      EXPECT_GT(auc, 0.5) << name;
      EXPECT_LT(auc, 1.0) << name;
    }
    // Both are ratios of pair counts (at most 256 pairs): equal up to double rounding.
    EXPECT_NEAR(metric(m, "auc_" + name), auc, 1e-12) << name;
  }
}


// Several attacks in one run: each keeps its own parameters, its metrics come under its id
// (ATTACK/metric), and each equals what the attack reports when it runs alone; records carry
// their attack (part) and item id within it.
TEST_F(AttacksTest, SeveralAttacksInOneRunEachAsAlone) {
  std::mt19937 rng(12);
  std::vector<std::vector<int64_t>> prefix, suffix, members, nonmembers;
  for (int i = 0; i < 8; ++i) {
    prefix.push_back(chain('a' + i, 6));
    suffix.push_back(i < 2 ? chain(next_token(prefix.back().back()), 8) : random_letters(rng, 8));
    members.push_back(chain('c' + i, 16));
    nonmembers.push_back(random_letters(rng, 16));
  }
  save("multi_prefix.npy", prefix);
  save("multi_suffix.npy", suffix);
  save("multi_in.npy", members);
  save("multi_out.npy", nonmembers);
  const std::string disc = "  name: discoverable\n  prefix: " + (root_ / "multi_prefix.npy").string() + "\n  suffix: " +
                           (root_ / "multi_suffix.npy").string() + "\n";
  const std::string mem = "  name: membership\n  members: [" + (root_ / "multi_in.npy").string() + "]\n  nonmembers: [" +
                          (root_ / "multi_out.npy").string() + "]\n";
  const json alone_disc = run("multi-disc", disc), alone_mem = run("multi-mem", mem);
  // An `attack:` body ("  key: value" lines) as an item of the `attacks:` list.
  auto item = [](const std::string& body) {
    std::string out;
    std::istringstream lines(body);
    for (std::string line; std::getline(lines, line);) out += (out.empty() ? "  - " + line.substr(2) : "  " + line) + "\n";
    return out;
  };
  const json both = run_config("multi", "attacks:\n" + item(disc) + item(mem + "  id: mi\n"));
  EXPECT_DOUBLE_EQ(metric(alone_disc, "exact_extraction_rate"), 0.25);
  // Each metric of an attack run alone, whole (value, interval, n, description; or no value and
  // the reason), is the one of the combined run under ID/name.
  auto same_metrics = [&](const json& alone, const std::string& id) {
    for (json m : alone.at("metrics")) {
      const json* found = nullptr;
      for (const auto& x : both.at("metrics"))
        if (x.at("name") == id + "/" + m.at("name").get<std::string>()) found = &x;
      ASSERT_NE(found, nullptr) << m;
      m["name"] = found->at("name");
      EXPECT_EQ(*found, m);
    }
  };
  same_metrics(alone_disc, "discoverable");
  same_metrics(alone_mem, "mi");
  const auto recs = records("multi");
  ASSERT_EQ(recs.size(), 8u + 16u);
  for (const auto& [id, r] : recs) {
    EXPECT_EQ(r.at("part").get<std::string>(), id < 8 ? "discoverable" : "mi") << id;
    EXPECT_EQ(r.at("part_id").get<int64_t>(), id < 8 ? id : id - 8) << id;
  }
  // Two attacks under one id would mix their metrics: refused.
  EXPECT_THROW(run_config("multi-dup", "attacks:\n" + item(mem) + item(mem)), Error);
}

// Sample-and-rank against Carlini et al. 2021's reference (ftramer/LM_Memorization and the
// paper's section 6.1). The models here are chains as above, written for any vocabulary size:
// `next(id)` gets logit 80 and every other id 0, so top-k sampling follows the chain.
void write_chain_model(const fs::path& dir, int64_t vocab, const std::function<int64_t(int64_t)>& next,
                       const json* tokenizer) {
  constexpr double kEps = 1e-6;
  fs::create_directories(dir);
  models::ModelConfig c = testing::llama_config({.vocab = vocab, .hidden = vocab, .layers = 1, .heads = 4, .kv_heads = 4,
                                                 .head_dim = 64, .intermediate = 16, .max_positions = 512},
                                                64);
  c.norm_eps = kEps;
  c.bos_token_id = 0;
  std::ofstream(dir / "config.json") << models::to_hf_config_json(c);
  // The head sees the one-hot embedding through the final RMSNorm: 1 / sqrt(1/vocab + eps).
  const double scale = 1.0 / std::sqrt(1.0 / static_cast<double>(vocab) + kEps);
  at::Tensor head = at::zeros({vocab, vocab}, at::kDouble);
  for (int64_t i = 0; i < vocab; ++i) head[next(i)][i] = 80.0 / scale;
  std::map<std::string, at::Tensor> t;
  t["model.embed_tokens.weight"] = at::eye(vocab);
  const std::string p = "model.layers.0.";
  t[p + "input_layernorm.weight"] = at::ones({vocab});
  t[p + "post_attention_layernorm.weight"] = at::ones({vocab});
  for (const char* n : {"q_proj", "k_proj", "v_proj"}) t[p + "self_attn." + n + ".weight"] = at::zeros({256, vocab});
  t[p + "self_attn.o_proj.weight"] = at::zeros({vocab, 256});
  t[p + "mlp.gate_proj.weight"] = at::zeros({16, vocab});
  t[p + "mlp.up_proj.weight"] = at::zeros({16, vocab});
  t[p + "mlp.down_proj.weight"] = at::zeros({vocab, 16});
  t["model.norm.weight"] = at::ones({vocab});
  t["lm_head.weight"] = head.to(at::kFloat);
  models::write_safetensors(dir / "model.safetensors", t);
  if (tokenizer) std::ofstream(dir / "tokenizer.json") << tokenizer->dump();
}

// A byte-level BPE tokenizer.json with this vocabulary and these merges.
json bpe_tokenizer(const json& vocab, const json& merges) {
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  return {{"version", "1.0"},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level},
          {"post_processor", nullptr},
          {"decoder", byte_level},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", vocab}, {"merges", merges}}}};
}

// The words model: bytes as ids 0..255 plus the merged tokens "ab", "cd", "ef" (256..258).
// Two chains spell the same words "ab cd ef ab ..." with different separators and tokens:
// "ab" "," "cd" ";" "ef" "." (merged, as the tokenizer encodes them) and "a" "b" " " "c" "d"
// "\t" "e" "f" "\n" (spelled out letter by letter, which no encoding gives: non-canonical). A
// prompt from "ab cd\tef\n..." ends in a word (then the merged chain follows) or a whitespace
// (then the spelled one), and either way the words run on in the same cycle.
constexpr int64_t kAB = 256, kCD = 257, kEF = 258;
int64_t words_next(int64_t t) {
  switch (t) {
    case kAB: return ',';
    case ',': return kCD;
    case kCD: return ';';
    case ';': return kEF;
    case kEF: return '.';
    case 'a': return 'b';
    case 'b': return ' ';
    case ' ': return 'c';
    case 'c': return 'd';
    case 'd': return '\t';
    case '\t': return 'e';
    case 'e': return 'f';
    case 'f': return '\n';
    case '\n': return 'a';
    default: return kAB;  // '.' and everything else
  }
}

fs::path write_words_model(const fs::path& root) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[testing::byte_char(b)] = b;
  vocab["ab"] = kAB;
  vocab["cd"] = kCD;
  vocab["ef"] = kEF;
  const json tok = bpe_tokenizer(vocab, json::array({"a b", "c d", "e f"}));
  write_chain_model(root / "words", 259, words_next, &tok);
  std::string doc;
  for (int i = 0; i < 20; ++i) doc += "ab cd\tef\n";
  std::ofstream(root / "words-doc.txt") << doc;
  return root / "words-doc.txt";
}

// Whether a sample of the words model took the spelled-out chain (it emits whitespace tokens).
bool spelled_out(const json& r) {
  for (const auto& t : r.at("tokens"))
    if (t == ' ' || t == '\t' || t == '\n') return true;
  return false;
}

const json& metric_entry(const json& m, const std::string& name) {
  for (const auto& x : m.at("metrics"))
    if (x.at("name") == name) return x;
  throw std::runtime_error("no metric " + name);
}

// The mean NLL a model gives tokens 1..n-1 of `ids` (from position `from` on), through the
// model's own full-logits scoring (not the engine the attack uses).
double model_nll(const models::Model& m, const std::vector<int64_t>& ids, size_t from = 0) {
  const at::Tensor lp = models::score_logprobs(m, at::tensor(ids, at::kLong).unsqueeze(0))[0].to(at::kDouble);
  return -lp.slice(0, static_cast<int64_t>(from)).mean().item<double>();
}

// The paper's rule drops a sample when half of its word trigrams occur in a kept one; samples of
// the two chains share every word trigram but hardly a token trigram, so the default
// (containment) keeps one sample of the eight, where token-trigram Jaccard keeps one of each
// chain at least.
TEST_F(AttacksTest, SampleAndRankDropsNearDuplicatesByWordTrigramContainment) {
  const fs::path doc = write_words_model(root_);
  const std::string base = "  name: sample-and-rank\n  samples: 8\n  length: 48\n  strategy: corpus-prompts\n"
                           "  prompt_files: [" + doc.string() + "]\n  corpus: [" + doc.string() +
                           "]\n  ngram: 6\n  window: 4\n  precision_at: [8]\n";
  const json m = run("sar-dedup", base, "words");
  EXPECT_EQ(m.at("run").at("dedup").at("rule"), "containment");
  EXPECT_EQ(m.at("run").at("dedup").at("threshold").get<double>(), 0.5);
  const auto recs = records("sar-dedup");
  ASSERT_EQ(recs.size(), 8u);
  const json *merged = nullptr, *spelled = nullptr;
  for (const auto& [id, r] : recs) (spelled_out(r) ? spelled : merged) = &r;
  ASSERT_TRUE(merged && spelled) << "the seed must give prompts that lead into both chains";
  // The premise, on one sample of each chain: containment >= 0.5 (both ways), Jaccard <= 0.5.
  auto text = [](const json* r) { return r->value("sample_text", r->at("text").get<std::string>()); };
  const auto tm = metrics::word_trigrams(text(merged)), ts = metrics::word_trigrams(text(spelled));
  EXPECT_GE(metrics::trigram_containment(tm, ts), 0.5);
  EXPECT_GE(metrics::trigram_containment(ts, tm), 0.5);
  EXPECT_LE(metrics::trigram_jaccard(merged->at("tokens").get<std::vector<int64_t>>(),
                                     spelled->at("tokens").get<std::vector<int64_t>>()),
            0.5);
  const json jaccard = run("sar-dedup-jaccard", base + "  dedup: token-jaccard\n", "words");
  EXPECT_EQ(jaccard.at("run").at("dedup").at("rule"), "token-jaccard");
  for (const char* signal : {"perplexity", "zlib", "window", "lowercase"}) {
    const std::string s = signal;
    // Containment: every sample after the first is a near-duplicate of it.
    EXPECT_EQ(metric(m, "near_duplicates_dropped_" + s), 7.0) << s;
    EXPECT_EQ(metric_entry(m, "precision_at_8_" + s).at("n").get<int64_t>(), 1) << s;
    // Token-trigram Jaccard never joins the two chains.
    EXPECT_LE(metric(jaccard, "near_duplicates_dropped_" + s), 6.0) << s;
    EXPECT_GE(metric_entry(jaccard, "precision_at_8_" + s).at("n").get<int64_t>(), 2) << s;
  }
}

// A sample spelled out letter by letter is a non-canonical tokenization of text the corpus
// holds: its tokens match no corpus window, its re-encoded text does.
TEST_F(AttacksTest, SampleAndRankFindsNonCanonicalSamplesAfterReencoding) {
  const fs::path doc = write_words_model(root_);
  const json m = run("sar-reencode", "  name: sample-and-rank\n  samples: 8\n  length: 48\n  strategy: corpus-prompts\n"
                                     "  prompt_files: [" + doc.string() + "]\n  corpus: [" + doc.string() +
                                     "]\n  ngram: 6\n  window: 4\n  precision_at: [8]\n",
                     "words");
  const auto tokenizer = tok::load_tokenizer(root_ / "words");
  const auto recs = records("sar-reencode");
  ASSERT_EQ(recs.size(), 8u);
  int64_t spelled = 0;
  for (const auto& [id, r] : recs) {
    const bool s = spelled_out(r);
    spelled += s;
    const auto tokens = r.at("tokens").get<std::vector<int64_t>>();
    if (s) {
      EXPECT_NE(tokenizer->encode(tokenizer->decode(tokens)), tokens) << "sample " << id << " is canonical";
    }
    EXPECT_EQ(r.at("memorized").get<bool>(), s) << "sample " << id << ": " << r.at("text");
    EXPECT_EQ(r.at("matched_by").get<std::string>(), s ? "reencoded" : "none") << "sample " << id;
    EXPECT_EQ(r.at("matched_windows").get<int64_t>(), 0) << "sample " << id;
  }
  ASSERT_GE(spelled, 1) << "the seed must give a spelled-out sample";
  ASSERT_LE(spelled, 7) << "the seed must give a merged sample";
  EXPECT_EQ(metric(m, "corpus_hits_tokens"), 0.0);
  EXPECT_EQ(metric(m, "corpus_hits_reencoded"), static_cast<double>(spelled));
  EXPECT_DOUBLE_EQ(metric(m, "memorized_sample_rate"), static_cast<double>(spelled) / 8.0);
}

// The lowercase signal is NLL(str.lower(text)) / NLL(text), both texts re-encoded and scored
// alike (tokens 1..n-1 of the encoding, nothing prepended). Prompts carry the Kelvin sign
// U+212A, which Python lowercases to ASCII "k" (and an ASCII-only lowering leaves alone): "Klm"
// becomes "klm", which follows the chain. Each record must equal the model's own scoring of the
// texts.
TEST_F(AttacksTest, SampleAndRankLowercaseRatioScoresReencodedTexts) {
  std::string kelvin, upper;
  for (int i = 0; i < 6; ++i) kelvin += "\u212Almnop";
  for (int i = 0; i < 3; ++i) upper += "QRSTUVWXYZ";
  std::ofstream(root_ / "prompts-kelvin.txt") << kelvin;
  std::ofstream(root_ / "prompts-upper2.txt") << upper;
  std::ofstream(root_ / "lower-corpus.txt") << "abcdefghijklmnopqrstuvwxyz";
  run("sar-lower", "  name: sample-and-rank\n  samples: 12\n  length: 12\n  strategy: corpus-prompts\n"
                   "  prompt_files: [" + (root_ / "prompts-kelvin.txt").string() + ", " + (root_ / "prompts-upper2.txt").string() +
                   "]\n  corpus: [" + (root_ / "lower-corpus.txt").string() + "]\n  ngram: 8\n  window: 4\n  precision_at: [4]\n");
  const models::Model model = models::load_model(root_ / "model", at::Device(at::kCPU), at::kFloat);
  const auto tokenizer = tok::load_tokenizer(root_ / "model");
  const auto recs = records("sar-lower");
  ASSERT_EQ(recs.size(), 12u);
  int64_t unicode_only = 0;
  for (const auto& [id, r] : recs) {
    // The sample's text: the decoded prompt and continuation.
    std::vector<int64_t> all = r.at("prompt").get<std::vector<int64_t>>();
    for (const auto& t : r.at("tokens")) all.push_back(t.get<int64_t>());
    const std::string text = tokenizer->decode(all);
    ASSERT_EQ(r.value("sample_text", r.at("text").get<std::string>()), text) << "sample " << id;
    const std::string lower = metrics::to_lower_unicode(text);
    const double want_text = model_nll(model, tokenizer->encode(text));
    const double want_lower = model_nll(model, tokenizer->encode(lower));
    // Both sides score the same fp32 logits (log-softmax of 80 and 0) by different code paths;
    // the per-token values agree to a few ulp of 80 (~1e-5), their means likewise.
    EXPECT_NEAR(r.at("text_nll").get<double>(), want_text, 1e-4) << "sample " << id;
    EXPECT_NEAR(r.at("lower_nll").get<double>(), want_lower, 1e-4) << "sample " << id;
    if (want_text > 1e-3) {
      EXPECT_NEAR(r.at("lowercase_ratio").get<double>(), want_lower / want_text, 1e-5 * (1 + want_lower / want_text))
          << "sample " << id;
    }
    // Samples where lowering all of Unicode, not only ASCII, changes the score.
    const double ascii_lower = model_nll(model, tokenizer->encode(metrics::to_lower_ascii(text)));
    unicode_only += std::abs(ascii_lower - want_lower) > 1.0;
  }
  ASSERT_GE(unicode_only, 1) << "the seed must give a prompt with a whole Kelvin sign";
}

// A reference model whose tokenizer numbers the bytes the other way round (id = 255 - byte) has
// the target's vocabulary size, but reads the sample's text with its own ids. Its NLL must
// equal the model's own scoring of the re-encoded text, not of the target's ids; a reference
// with the target's tokenizer (a copy beside it) reads the target's ids; one with neither a
// tokenizer nor the target's vocabulary size is refused.
TEST_F(AttacksTest, SampleAndRankReferenceReadsTextWithItsOwnTokenizer) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[testing::byte_char(b)] = 255 - b;
  const json reversed = bpe_tokenizer(vocab, json::array());
  write_chain_model(root_ / "reversed-ref", 256, [](int64_t id) { return 255 - next_token(255 - id); }, &reversed);
  std::ofstream(root_ / "ref-corpus.txt") << "abcdefghijklmnopqrstuvwxyz";
  const std::string attack = "  name: sample-and-rank\n  samples: 6\n  length: 24\n  corpus: [" +
                             (root_ / "ref-corpus.txt").string() + "]\n  ngram: 8\n  window: 4\n  precision_at: [3]\n";
  const json m = run("sar-ref", attack, "soft", "reversed-ref");
  EXPECT_NE(m.at("run").at("reference_ids").get<std::string>().find("re-encoded"), std::string::npos) << m.at("run");
  const models::Model target = models::load_model(root_ / "soft", at::Device(at::kCPU), at::kFloat);
  const models::Model ref = models::load_model(root_ / "reversed-ref", at::Device(at::kCPU), at::kFloat);
  const auto target_tok = tok::load_tokenizer(root_ / "soft");
  const auto ref_tok = tok::load_tokenizer(root_ / "reversed-ref");
  const auto recs = records("sar-ref");
  ASSERT_EQ(recs.size(), 6u);
  int64_t reading_matters = 0;  // samples whose NLL differs when the target's ids are read as they are
  for (const auto& [id, r] : recs) {
    const std::string text = r.at("text").get<std::string>();
    const auto ids = ref_tok->encode(text);
    ASSERT_EQ(ids.size(), text.size());
    for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], 255 - static_cast<unsigned char>(text[i]));
    const double want = model_nll(ref, ids);
    std::vector<int64_t> full = r.at("prompt").get<std::vector<int64_t>>();
    for (const auto& t : r.at("tokens")) full.push_back(t.get<int64_t>());
    reading_matters += std::abs(want - model_nll(ref, full, r.at("prompt").size() - 1)) > 1.0;
    // fp32 log-softmax of logits 80 and 0 by two code paths: a few ulp of 80 per token.
    EXPECT_NEAR(r.at("ref_nll").get<double>(), want, 1e-4) << "sample " << id;
    const double own = model_nll(target, target_tok->encode(text));
    EXPECT_NEAR(r.at("reference_ratio").get<double>(), want / own, 1e-5 * (1 + want / own)) << "sample " << id;
  }
  ASSERT_GE(reading_matters, 1) << "the seed must give samples on which the reading matters";
  // The fixture's soft-ref has a copy of the target's tokenizer: it reads the target's
  // encoding of the text, as the reference's calculatePerplexity(text, model2, tokenizer) does.
  const json same = run("sar-ref-same", attack, "soft", "soft-ref");
  EXPECT_NE(same.at("run").at("reference_ids").get<std::string>().find("target's ids"), std::string::npos) << same.at("run");
  const models::Model soft_ref = models::load_model(root_ / "soft-ref", at::Device(at::kCPU), at::kFloat);
  for (const auto& [id, r] : records("sar-ref-same")) {
    const auto ids = target_tok->encode(r.at("text").get<std::string>());
    // Logits in [0, 1]: each fp32 log-probability within a few ulp of log(e + 255) ~ 5.6.
    EXPECT_NEAR(r.at("ref_nll").get<double>(), model_nll(soft_ref, ids), 1e-5) << id;
  }
  // No tokenizer and another vocabulary size: an error naming both models.
  write_chain_model(root_ / "wide-ref", 259, [](int64_t) { return int64_t{0}; }, nullptr);
  try {
    run("sar-ref-wide", attack, "soft", "wide-ref");
    ADD_FAILURE() << "a reference without a tokenizer and with another vocabulary was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((root_ / "wide-ref").string()), std::string::npos) << what;
    EXPECT_NE(what.find((root_ / "soft").string()), std::string::npos) << what;
  }
}


// ReCaLL and the min-k% k sweep on the soft model, whose next-token distribution is known in
// closed form (log p(next) = L - log(e^L + 255) after any token, -log(e^L + 255) for the others).
// ReCaLL's LL(x | P) is the mean log-probability of x's tokens after the prefix P (its first
// token predicted from P's last), written out here, over LL(x), the loss score. With a 512-token
// context the 3 shots (non-members 0..2, .npy rows: concatenated) are all kept and every
// prefix + x fits one window. The shots get no recall score and stay out of its AUC. The sweep
// reports the k with the best held-out AUC and that k's AUC on the other items only.
TEST_F(AttacksTest, MembershipReCaLLAndTheKSweepOnAKnownDistribution) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int64_t> letter('a', 'z');
  auto make = [&](double follow, size_t n) {
    std::vector<int64_t> s{letter(rng)};
    while (s.size() < n) {
      int64_t x = next_token(s.back());
      if (u(rng) >= follow)
        do x = letter(rng);
        while (x == next_token(s.back()));
      s.push_back(x);
    }
    return s;
  };
  std::vector<std::vector<int64_t>> members, nonmembers;
  for (int i = 0; i < 16; ++i) {
    members.push_back(make(0.35 + 0.6 * u(rng), 24));
    nonmembers.push_back(make(0.05 + 0.6 * u(rng), 24));
  }
  save("rc_in.npy", members);
  save("rc_out.npy", nonmembers);
  const double z = std::log(std::exp(kSoftLogit) + 255.0), hit = kSoftLogit - z, miss = -z;
  auto lp = [&](int64_t prev, int64_t t) { return t == next_token(prev) ? hit : miss; };
  auto mean_ll = [&](const std::vector<int64_t>& s) {
    double sum = 0;
    for (size_t t = 1; t < s.size(); ++t) sum += lp(s[t - 1], s[t]);
    return sum / static_cast<double>(s.size() - 1);
  };
  std::vector<int64_t> prefix;
  for (int i = 0; i < 3; ++i) prefix.insert(prefix.end(), nonmembers[i].begin(), nonmembers[i].end());
  auto conditional = [&](const std::vector<int64_t>& s) {  // one window: every token of s predicted
    double sum = lp(prefix.back(), s[0]);
    for (size_t t = 1; t < s.size(); ++t) sum += lp(s[t - 1], s[t]);
    return sum / static_cast<double>(s.size());
  };
  const std::string files = "  members: [" + (root_ / "rc_in.npy").string() + "]\n  nonmembers: [" + (root_ / "rc_out.npy").string() + "]\n";
  const json m = run("recall", "  name: membership\n" + files + "  recall_shots: 3\n", "soft");
  const auto recs = records("recall");
  ASSERT_EQ(recs.size(), 32u);
  std::vector<double> in, out;
  for (const auto& [id, r] : recs) {
    const bool shot = id >= 16 && id < 19;
    EXPECT_EQ(r.value("recall_shot", false), shot) << id;
    EXPECT_EQ(r.at("scores").contains("recall"), !shot) << id;
    if (shot) continue;
    const auto& s = id < 16 ? members[static_cast<size_t>(id)] : nonmembers[static_cast<size_t>(id - 16)];
    // fp32 log-softmax: each log-probability within a few ulp of ~5.6 (~1e-6), so each mean is
    // within ~1e-6 of its value and the ratio of two means near -3.6..-5.6 within ~1e-6: 2e-5.
    const double got = r.at("scores").at("recall").get<double>();
    EXPECT_NEAR(got, conditional(s) / mean_ll(s), 2e-5) << id;
    (id < 16 ? in : out).push_back(got);
  }
  ASSERT_EQ(out.size(), 13u);
  double pairs = 0;
  for (double a : in)
    for (double b : out) pairs += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
  // Both are ratios of the same pair counts (208 pairs): equal up to double rounding.
  EXPECT_NEAR(metric(m, "auc_recall"), pairs / static_cast<double>(in.size() * out.size()), 1e-12);
  EXPECT_EQ(metric(m, "recall_shots"), 3.0);
  EXPECT_EQ(m["run"]["recall"]["excluded_ids"], json({16, 17, 18}));
  EXPECT_EQ(m["run"]["recall"]["prefix_tokens"], 72);
  EXPECT_EQ(m["run"]["recall"]["prefix_join"], "tokens");
  for (const auto& x : m.at("metrics"))  // ReCaLL's TPR counts its own 13 non-members
    if (x.at("name") == "tpr_at_1%_fpr_recall") {
      EXPECT_NE(x.at("description").get<std::string>().find("from 13 non-members"), std::string::npos) << x;
    }
  // The other scores keep every item: as without ReCaLL, which then leaves no trace.
  const json off = run("recall-off", "  name: membership\n" + files + "  recall_shots: 0\n  k_sweep_percent: []\n", "soft");
  EXPECT_EQ(metric(m, "auc_loss"), metric(off, "auc_loss"));
  for (const auto& x : off.at("metrics")) {
    EXPECT_EQ(x.at("name").get<std::string>().find("recall"), std::string::npos) << x;
    EXPECT_EQ(x.at("name").get<std::string>().find("sweep"), std::string::npos) << x;
  }

  // The sweep: each record's min-k% for every k; k chosen on the held-out half of each class
  // (metrics::holdout_split, held to its definition in tests/metrics_oracle.py) by pair counts,
  // and its AUC measured on the other half.
  const std::vector<double> ks = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  std::vector<int64_t> ids;
  std::vector<int> labels;
  std::vector<std::vector<double>> sweep(ks.size());
  for (const auto& [id, r] : recs) {
    const auto& s = id < 16 ? members[static_cast<size_t>(id)] : nonmembers[static_cast<size_t>(id - 16)];
    std::vector<double> v;
    for (size_t t = 1; t < s.size(); ++t) v.push_back(lp(s[t - 1], s[t]));
    std::sort(v.begin(), v.end());
    ASSERT_EQ(r.at("min_k_sweep").size(), ks.size());
    for (size_t k = 0; k < ks.size(); ++k) {
      const size_t n = std::max<size_t>(1, static_cast<size_t>(std::floor(ks[k] * static_cast<double>(v.size()))));
      const double want = std::accumulate(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), 0.0) / static_cast<double>(n);
      sweep[k].push_back(r.at("min_k_sweep")[k].get<double>());
      EXPECT_NEAR(sweep[k].back(), want, 2e-5) << "k " << ks[k] << ", sequence " << id;  // as above: means of fp32 log-probs
    }
    ids.push_back(id);
    labels.push_back(id < 16 ? 1 : 0);
  }
  const auto held = metrics::holdout_split(ids, labels, 0.5, 11);  // the config's seed
  auto auc_of = [&](const std::vector<double>& s, bool part) {
    double p = 0, n = 0;
    for (size_t i = 0; i < s.size(); ++i)
      for (size_t j = 0; j < s.size(); ++j)
        if (held[i] == part && held[j] == part && labels[i] == 1 && labels[j] == 0) {
          p += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
          n += 1;
        }
    return p / n;
  };
  json table;
  for (const auto& t : m.at("tables"))
    if (t.at("id") == "min_k_sweep") table = t;
  ASSERT_EQ(table["rows"].size(), ks.size()) << m["tables"];
  size_t best = 0;
  for (size_t k = 0; k < ks.size(); ++k) {
    // pair counts over the same recorded scores: equal up to double rounding.
    EXPECT_NEAR(table["rows"][k][1].get<double>(), auc_of(sweep[k], true), 1e-12) << ks[k];
    if (auc_of(sweep[k], true) > auc_of(sweep[best], true)) best = k;
  }
  EXPECT_EQ(metric(m, "min_k_sweep_k"), ks[best]);
  EXPECT_NEAR(metric(m, "min_k_sweep_auc"), auc_of(sweep[best], false), 1e-12);
  EXPECT_EQ(m["run"]["min_k_sweep"]["holdout_items"], 16);
  EXPECT_EQ(m["run"]["min_k_sweep"]["eval_items"], 16);
  EXPECT_EQ(m["run"]["min_k_sweep"]["k"], json(ks));
}

// ReCaLL against a short context (40 positions, the soft model otherwise): mimir's process_prefix
// counts how many shots fit beside the members' mean length (24) from the first shot (10 + 6
// tokens fit, 12 more do not) and keeps that many from the end (shots 1 and 2: 18 tokens; text
// files, so their texts are joined and encoded again). prefix + x then spans two windows of 40:
// the second restarts its context, its first token is not predicted but counts in mimir's weight
// (a second window of one token counts not at all). Non-member 0, not in the prefix, is scored.
TEST_F(AttacksTest, MembershipReCaLLKeepsTheShotsThatFitAndScoresInWindows) {
  fs::copy(root_ / "soft", root_ / "soft-short", fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  json cfg = json::parse(std::ifstream(root_ / "soft-short" / "config.json"));
  cfg["max_position_embeddings"] = 40;
  std::ofstream(root_ / "soft-short" / "config.json") << cfg.dump();
  std::mt19937 rng(5);
  std::vector<std::string> members, nonmembers;
  auto letters = [&](size_t n, bool follow) {
    std::vector<int64_t> s = follow ? chain('a' + static_cast<int64_t>(rng() % 26), static_cast<int64_t>(n)) : random_letters(rng, static_cast<int64_t>(n));
    if (follow) s[rng() % n] = 'q';  // not quite memorized
    return std::string(s.begin(), s.end());
  };
  for (int i = 0; i < 8; ++i) members.push_back(letters(24, i % 3 != 0));
  for (size_t n : {10, 6, 12, 23, 24, 24, 24, 24}) nonmembers.push_back(letters(n, nonmembers.size() % 4 == 0));
  auto write = [&](const std::string& name, const std::vector<std::string>& texts) {
    std::ofstream f(root_ / name);
    for (const auto& t : texts) f << json{{"text", t}}.dump() << "\n";
  };
  write("rw_in.jsonl", members);
  write("rw_out.jsonl", nonmembers);
  const json m = run("recall-windows", "  name: membership\n  members: [" + (root_ / "rw_in.jsonl").string() + "]\n  nonmembers: [" +
                                           (root_ / "rw_out.jsonl").string() + "]\n  recall_shots: 3\n",
                     "soft-short");
  EXPECT_EQ(metric(m, "recall_shots"), 2.0);
  EXPECT_EQ(m["run"]["recall"]["shots"], 3);
  EXPECT_EQ(m["run"]["recall"]["excluded_ids"], json({9, 10}));
  EXPECT_EQ(m["run"]["recall"]["prefix_tokens"], 18);
  EXPECT_EQ(m["run"]["recall"]["prefix_join"], "text");
  EXPECT_EQ(m["run"]["recall"]["context"], 40);
  const double z = std::log(std::exp(kSoftLogit) + 255.0);
  auto lp = [&](int64_t prev, int64_t t) { return t == next_token(prev) ? kSoftLogit - z : -z; };
  const std::string prefix = nonmembers[1] + nonmembers[2];
  int two_windows = 0;
  for (const auto& [id, r] : records("recall-windows")) {
    const bool shot = id == 9 || id == 10;
    EXPECT_EQ(r.at("scores").contains("recall"), !shot) << id;
    if (shot) continue;
    const std::string text = id < 8 ? members[static_cast<size_t>(id)] : nonmembers[static_cast<size_t>(id - 8)];
    const std::string full = prefix + text;
    const size_t P = prefix.size(), L = full.size(), M = 40;
    double nll0 = 0, nll1 = 0, mean = 0;
    for (size_t g = P; g < std::min(L, M); ++g) nll0 -= lp(full[g - 1], full[g]);
    for (size_t g = M + 1; g < L; ++g) nll1 -= lp(full[g - 1], full[g]);  // window 2: from its second token
    double cond;
    if (L <= M + 1) {
      cond = -nll0 / static_cast<double>(std::min(L, M) - P);  // one window (or a second of one token, skipped)
    } else {
      ++two_windows;  // mimir: each window's mean loss times its text tokens, index 0 included
      const double w0 = static_cast<double>(M - P), w1 = static_cast<double>(L - M);
      cond = -(nll0 / w0 * w0 + nll1 / static_cast<double>(L - M - 1) * w1) / (w0 + w1);
    }
    for (size_t t = 1; t < text.size(); ++t) mean += lp(text[t - 1], text[t]);
    mean /= static_cast<double>(text.size() - 1);
    // As in the test above: fp32 log-probabilities, means and one ratio within 2e-5.
    EXPECT_NEAR(r.at("scores").at("recall").get<double>(), cond / mean, 2e-5) << id << " " << text;
  }
  EXPECT_EQ(two_windows, 8 + 4);  // the members and the non-members of 24 tokens
  // A prefix that leaves no non-member to evaluate, and shots that fill the context: refused.
  EXPECT_THROW(run("recall-all", "  name: membership\n  members: [" + (root_ / "rw_in.jsonl").string() + "]\n  nonmembers: [" +
                                     (root_ / "rw_out.jsonl").string() + "]\n  recall_shots: 8\n", "soft-short"),
               Error);
  write("rw_long.jsonl", {letters(30, false), letters(30, false), letters(30, false)});
  EXPECT_THROW(run("recall-long", "  name: membership\n  members: [" + (root_ / "rw_in.jsonl").string() + "]\n  nonmembers: [" +
                                      (root_ / "rw_long.jsonl").string() + "]\n  recall_shots: 2\n", "soft-short"),
               Error);
}

// The challenge's baseline mode on the chain model with 'z' as its end-of-text token: every
// sample follows the table up to 'z', stops there and is padded with 'z' (as Hugging Face's
// generate with pad_token_id = end-of-text pads a finished row), and its loss is the mean NLL
// over the baseline's [-51:-1] window of the re-scored 100 tokens, where each padded 'z' after
// 'z' costs the table's logit (its NLL; a table step costs ~0). Eidetic mode's greedy trial runs
// on past 'z' along the table and is the true continuation. Every trial is the same sequence
// here, so guesses.csv holds one distinct guess per prefix whatever guesses_per_prefix asks.
TEST_F(AttacksTest, ExtractionChallengeBaselinePadsAfterEndOfTextAndAveragesItsWindow) {
  const fs::path eos_model = root_ / "model-eos";
  fs::create_directories(eos_model);
  fs::copy(root_ / "model", eos_model, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  json config = json::parse(std::ifstream(eos_model / "config.json"));
  config["eos_token_id"] = 'z';
  std::ofstream(eos_model / "config.json") << config.dump();
  constexpr int64_t P = 50, S = 50, items = 6;
  std::vector<std::vector<int64_t>> prefix, answers, padded;
  for (int64_t i = 0; i < items; ++i) {
    prefix.push_back(chain('a' + i, P));
    answers.push_back(chain(next_token(prefix.back().back()), S));  // what the table says next
    auto g = answers.back();
    std::fill(std::find(g.begin(), g.end(), 'z') + 1, g.end(), 'z');  // the baseline's guess
    padded.push_back(g);
  }
  save("ce_prefix.npy", prefix);
  save("ce_answers.npy", answers);
  // Mean NLL of the S predictions of positions first .. first + S - 1 of prefix + guess.
  const double off_table = 5.0 * norm_scale();  // the NLL of a step against the table
  auto mean_nll = [&](int64_t i, const std::vector<int64_t>& guess, int64_t first) {
    std::vector<int64_t> full = prefix[static_cast<size_t>(i)];
    full.insert(full.end(), guess.begin(), guess.end());
    double s = 0;
    for (int64_t j = first; j < first + S; ++j) s += full[static_cast<size_t>(j)] == next_token(full[static_cast<size_t>(j - 1)]) ? 0.0 : off_table;
    return s / static_cast<double>(S);
  };
  const std::string base = "  name: extraction-challenge\n  prefix: " + (root_ / "ce_prefix.npy").string() +
                           "\n  answers: " + (root_ / "ce_answers.npy").string() + "\n  trials: 3\n  guesses_per_prefix: 2\n";
  // float32 logits of ~80 (an ulp ~1e-5) and an off-table softmax mass of 255 e^-80: 1e-3 is slack.
  constexpr double tol = 1e-3;
  for (const std::string window : {"auto", "suffix"}) {
    const std::string name = "challenge-eos-" + window;
    const json m = run(name, base + "  loss_window: " + window + "\n", "model-eos");
    const json& r = m.at("run");
    EXPECT_EQ(r.at("mode"), "baseline");
    EXPECT_EQ(r.at("loss_window"), window == "auto" ? "baseline" : "suffix");
    EXPECT_EQ(r.at("greedy_trial"), false);
    EXPECT_EQ(r.at("eos_padding"), true);
    EXPECT_EQ(r.at("eos_token"), 'z');
    EXPECT_EQ(r.at("dtype"), "fp32");
    EXPECT_NE(r.at("warnings").dump().find("fp16"), std::string::npos) << r;
    // [-51:-1] predicts positions P-1 .. P+S-2; the suffix window P .. P+S-1.
    const int64_t first = window == "auto" ? P - 1 : P;
    for (const auto& [id, rec] : records(name)) {
      EXPECT_EQ(rec.at("guess").get<std::vector<int64_t>>(), padded[static_cast<size_t>(id)]) << id;
      for (const auto& l : rec.at("losses")) EXPECT_NEAR(l.get<double>(), mean_nll(id, padded[static_cast<size_t>(id)], first), tol) << id;
      EXPECT_EQ(rec.at("ranked").size(), 1u) << id;  // three equal trials: one distinct candidate
    }
    EXPECT_DOUBLE_EQ(metric(m, "recall_at_100_errors"), 0.0);  // the padding is never the true suffix
    EXPECT_DOUBLE_EQ(metric(m, "recall_at_100_errors_guess1"), 0.0);
    EXPECT_DOUBLE_EQ(metric(m, "recall_at_100_errors_guess3"), 0.0);  // [1, 10, 100] capped at 3 trials
    EXPECT_FALSE(fs::exists(root_ / ("run-" + name) / "guess10.csv"));
    for (const char* f : {"guesses.csv", "guess1.csv", "guess3.csv"})
      EXPECT_EQ(metrics::read_guesses_csv(root_ / ("run-" + name) / f).size(), static_cast<size_t>(items)) << f;
  }
  const json e = run("challenge-eos-eidetic", base + "  mode: eidetic\n", "model-eos");
  EXPECT_EQ(e.at("run").at("greedy_trial"), true);
  EXPECT_EQ(e.at("run").at("eos_padding"), false);
  EXPECT_DOUBLE_EQ(metric(e, "recall_at_100_errors"), 1.0);
  EXPECT_DOUBLE_EQ(metric(e, "recall_at_100_errors_guess1"), 1.0);
  for (const auto& [id, rec] : records("challenge-eos-eidetic"))
    EXPECT_NEAR(rec.at("losses")[0].get<double>(), 0.0, tol) << id;  // the table, step for step
}


// A text source with a stride: an item every `stride` tokens of each document, named by its
// start; the report's verbatim table shows each extracted item's text. The words model follows
// "ab,cd;ef." forever, so every window of that document is extracted and none of a run of 'z'.
TEST_F(AttacksTest, DiscoverableTextSourceStridesAndShowsVerbatimPassages) {
  write_words_model(root_);
  std::string pattern;
  for (int i = 0; i < 10; ++i) pattern += "ab,cd;ef.";
  std::ofstream(root_ / "stride-pattern.txt") << pattern;
  std::ofstream(root_ / "stride-z.txt") << std::string(20, 'z');
  const auto tokenizer = tok::load_tokenizer(root_ / "words");
  ASSERT_EQ(tokenizer->encode(pattern).size(), 60u);
  const json m = run("disc-stride",
                     "  name: discoverable\n  source: text\n  files: [" + (root_ / "stride-pattern.txt").string() + ", " +
                         (root_ / "stride-z.txt").string() + "]\n  stride: 6\n  prefix_len: 4\n  suffix_len: 6\n",
                     "words");
  // Windows start at 0, 6, ... while 4 + 6 tokens fit: 9 in the 60-token document, 2 in the 20.
  const auto recs = records("disc-stride");
  ASSERT_EQ(recs.size(), 11u);
  for (const auto& [id, r] : recs) {
    const std::string source = r.at("source");
    const bool pattern_doc = source.find("stride-pattern.txt") != std::string::npos;
    EXPECT_EQ(source.substr(source.find(" @")), " @" + std::to_string(6 * (pattern_doc ? id : id - 9))) << id;
    EXPECT_EQ(r.at("exact").get<bool>(), pattern_doc) << source;
  }
  EXPECT_DOUBLE_EQ(metric(m, "exact_extraction_rate"), 9.0 / 11.0);
  EXPECT_EQ(m.at("run").at("verbatim_items"), 9);
  const json* table = nullptr;
  for (const auto& t : m.at("tables"))
    if (t.at("id") == "verbatim") table = &t;
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->at("rows").size(), 9u);
  const auto ids = tokenizer->encode(pattern);
  for (const auto& row : table->at("rows")) {
    const std::string source = row[0];
    const int64_t start = std::stoll(source.substr(source.find(" @") + 2));
    EXPECT_EQ(row[1], 4);
    EXPECT_EQ(row[2], "6 of 6");
    EXPECT_EQ(row[4].get<std::string>(), tokenizer->decode({ids.begin() + start + 4, ids.begin() + start + 10})) << source;
  }
  // Nothing extracted: the table says so, with the longest run.
  const json none = run("disc-stride-none",
                        "  name: discoverable\n  source: text\n  files: [" + (root_ / "stride-z.txt").string() +
                            "]\n  stride: 6\n  prefix_len: 4\n  suffix_len: 6\n",
                        "words");
  const json* empty = nullptr;
  for (const auto& t : none.at("tables"))
    if (t.at("id") == "verbatim") empty = &t;
  ASSERT_NE(empty, nullptr);
  EXPECT_TRUE(empty->at("rows").empty());
  EXPECT_EQ(empty->at("note"), "None: no item's suffix came back for 8 tokens or more; the longest run was 0 tokens.");
}

// Membership's `chunk`: a document cut into consecutive sequences of max_tokens (the shorter
// tail dropped) instead of its first max_tokens.
TEST_F(AttacksTest, MembershipChunksDocumentsIntoWholeSequences) {
  write_words_model(root_);
  std::string pattern;
  for (int i = 0; i < 10; ++i) pattern += "ab,cd;ef.";
  std::ofstream(root_ / "chunk.txt") << pattern;
  const auto tokenizer = tok::load_tokenizer(root_ / "words");
  const auto ids = tokenizer->encode(pattern);
  const std::vector<std::string> files = {(root_ / "chunk.txt").string()};
  const auto chunks = attacks::load_sequences(files, tokenizer.get(), 259, 16, "attack.members", true);
  ASSERT_EQ(chunks.size(), 3u);  // 60 tokens: 3 x 16, the last 12 dropped
  for (size_t i = 0; i < chunks.size(); ++i)
    EXPECT_EQ(chunks[i], std::vector<int64_t>(ids.begin() + 16 * i, ids.begin() + 16 * (i + 1))) << i;
  const auto whole = attacks::load_sequences(files, tokenizer.get(), 259, 16, "attack.members", false);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0], chunks[0]);
  // A document shorter than max_tokens stays whole.
  const auto short_doc = attacks::load_sequences(files, tokenizer.get(), 259, 100, "attack.members", true);
  ASSERT_EQ(short_doc.size(), 1u);
  EXPECT_EQ(short_doc[0], ids);
}

}  // namespace
}  // namespace eidetic
