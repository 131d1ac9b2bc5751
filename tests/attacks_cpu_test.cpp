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
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "common/error.h"
#include "corpus/npy.h"
#include "harness/run.h"
#include "metrics/exposure.h"
#include "metrics/text_metrics.h"
#include "model_util.h"
#include "models/config.h"
#include "models/safetensors.h"
#include "test_util.h"

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
  // dedup_threshold 1.0: no sample is dropped as a near-duplicate (Jaccard never exceeds 1), so
  // precision@k reads the ranking alone.
  const json m = run("sar-rank", "  name: sample-and-rank\n  samples: 16\n  length: 16\n  strategy: corpus-prompts\n"
                                 "  prompt_files: [" + (root_ / "prompts-lower.txt").string() + ", " +
                                     (root_ / "prompts-upper.txt").string() + "]\n  corpus: [" +
                                     (root_ / "train-alphabet.txt").string() + "]\n  ngram: 8\n  window: 4\n"
                                     "  dedup_threshold: 1.0\n  precision_at: " + precision_at + "\n");
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

}  // namespace
}  // namespace eidetic
