// Every attack on a target whose true answer is known, through a real run (config in, run
// directory out). The target is a hand-set model: a Llama whose layers add nothing, so the
// next token depends only on the current one, through a table we choose: lowercase letters
// follow the alphabet ('a' -> 'b' ... 'z' -> 'a'), and the digits of one planted secret follow
// each other ('4' -> '8' -> '0'); everything else goes to 'a'. Its tokenizer is byte-level
// BPE with no merges (one token per byte, id = byte value). Sequences that follow the table
// are "memorized" (log-probability ~ 0); any other is not. Each test fails when its attack
// computes the wrong thing.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "corpus/npy.h"
#include "harness/run.h"
#include "models/config.h"
#include "models/safetensors.h"

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

// GPT-2's byte-to-unicode map, to write a byte-level tokenizer.json.
std::string byte_symbol(int b) {
  std::vector<int> bs;
  for (int i = '!'; i <= '~'; ++i) bs.push_back(i);
  for (int i = 0xA1; i <= 0xAC; ++i) bs.push_back(i);
  for (int i = 0xAE; i <= 0xFF; ++i) bs.push_back(i);
  int cp = -1, n = 0;
  for (int i = 0; i < 256; ++i) {
    const bool direct = std::find(bs.begin(), bs.end(), i) != bs.end();
    const int c = direct ? i : 256 + n++;
    if (i == b) cp = c;
  }
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

class AttacksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("eidetic-attacks-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    const fs::path model = root_ / "model";
    fs::create_directories(model);
    models::ModelConfig c;
    c.family = models::Family::llama;
    c.vocab_size = V;
    c.hidden_size = V;
    c.num_layers = 1;
    c.num_heads = c.num_kv_heads = 4;
    c.head_dim = 64;
    c.intermediate_size = 16;
    c.max_positions = 512;
    c.norm = models::Norm::rms_norm;
    c.activation = models::Activation::silu;
    c.gated_mlp = true;
    c.qkv_bias = c.out_bias = c.mlp_bias = false;
    c.positions = models::PositionKind::rotary;
    c.rotary_dim = 64;
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
    at::Tensor head = at::zeros({V, V});
    for (int64_t i = 0; i < V; ++i) head[next_token(i)][i] = 5.0;  // logit 5 x sqrt(V) = 80
    t["lm_head.weight"] = head;
    models::write_safetensors(model / "model.safetensors", t);
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[byte_symbol(b)] = b;
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

  // Runs `attack_yaml` (the `attack:` section) and returns metrics.json.
  static json run(const std::string& name, const std::string& attack_yaml) {
    const fs::path cfg = root_ / (name + ".yaml");
    std::ofstream(cfg) << "seed: 11\nmodel:\n  path: " << (root_ / "model").string() << "\n  device: cpu\n"
                       << "engine:\n  batch_size: 8\nprofile:\n  measure_ceilings: false\nattack:\n"
                       << attack_yaml;
    harness::RunOptions o;
    o.config = cfg;
    o.out = root_ / ("run-" + name);
    o.quiet = true;
    std::ostringstream err;
    const fs::path dir = harness::execute_run(o, err);
    std::ifstream in(dir / "metrics.json");
    return json::parse(in);
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
  {
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
    for (size_t i = 0; i < rows.size(); ++i) {
      const int64_t ptr = static_cast<int64_t>(i * 64 * 4);
      idx.write(reinterpret_cast<const char*>(&ptr), 8);
    }
    for (uint64_t i = 0; i < docs; ++i) {
      const int64_t d = static_cast<int64_t>(i);
      idx.write(reinterpret_cast<const char*>(&d), 8);
    }
  }
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
  EXPECT_DOUBLE_EQ(metric(m, "tpr_at_1%_fpr_loss"), 1.0);
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
  // Beyond max_exact the rank is estimated, and the report says so.
  const json est = run("exposure-est", "  name: exposure\n  secrets: [\"480\"]\n  format: \"{secret}\"\n  separator: \"\"\n"
                                       "  length: 3\n  max_exact: 100\n  estimate_samples: 200\n");
  EXPECT_NE(est["run"]["exposure_method"].get<std::string>().find("estimate"), std::string::npos);
  EXPECT_NEAR(metric(est, "mean_exposure"), std::log2(1000.0), 1e-9);
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

}  // namespace
}  // namespace eidetic
