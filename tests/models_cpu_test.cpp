// Models on the CPU: loading (and every way a checkpoint can be wrong), the KV cache against
// the full forward, left padding against prompts run alone, and the CLI's error paths.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "corpus/npy.h"
#include "cli_util.h"
#include "models/config.h"
#include "models/generate.h"
#include "models/model.h"
#include "models/safetensors.h"
#include "model_util.h"
#include "test_util.h"

namespace eidetic {
namespace {

namespace fs = std::filesystem;
using models::ModelConfig;
using testing::llama_tensors;
using testing::tiny_llama;

using testing::TempDir;

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

// A model folder with config.json and model.safetensors.
fs::path save_model(const fs::path& dir, const ModelConfig& c, const std::map<std::string, at::Tensor>& t) {
  fs::create_directories(dir);
  write_text(dir / "config.json", models::to_hf_config_json(c));
  models::write_safetensors(dir / "model.safetensors", t);
  return dir;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

at::Device cpu() { return at::Device(at::kCPU); }

// ---- checkpoints -----------------------------------------------------------------------------

TEST(Checkpoint, RoundTripsThroughSafetensors) {
  TempDir tmp;
  const auto c = tiny_llama();
  const auto tensors = llama_tensors(c, 1);
  const auto dir = save_model(tmp.path() / "m", c, tensors);
  const auto read = models::read_safetensors(dir / "model.safetensors");
  ASSERT_EQ(read.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) EXPECT_TRUE(at::equal(read.tensors.at(name), t)) << name;
  const auto model = models::load_model(dir, cpu(), at::kFloat);
  EXPECT_EQ(model.config().num_kv_heads, 2);
}

TEST(Checkpoint, TruncatedFileIsNamed) {
  TempDir tmp;
  const auto c = tiny_llama();
  const auto dir = save_model(tmp.path() / "m", c, llama_tensors(c, 2));
  const auto file = dir / "model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 100);
  const std::string e = error_of([&] { models::load_model(dir, cpu(), at::kFloat); });
  EXPECT_NE(e.find(file.string()), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  fs::resize_file(file, 5);
  EXPECT_NE(error_of([&] { models::read_safetensors(file); }).find("too short"), std::string::npos);
}

TEST(Checkpoint, HeaderLengthOrOffsetsPastTheEnd) {
  TempDir tmp;
  const auto file = tmp.path() / "bad.safetensors";
  {
    std::ofstream out(file, std::ios::binary);
    const uint64_t len = 1 << 20;  // header claims 1 MiB; the file is tiny
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << "{}";
  }
  EXPECT_NE(error_of([&] { models::read_safetensors(file); }).find("runs past the end"), std::string::npos);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    const std::string h = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16000]}})";
    const uint64_t len = h.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << h << std::string(16, '\0');
  }
  const std::string e = error_of([&] { models::read_safetensors(file); });
  EXPECT_NE(e.find("tensor 'w' ends at byte"), std::string::npos) << e;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    const std::string h = R"({"w":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}})";
    const uint64_t len = h.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << h << std::string(16, '\0');
  }
  EXPECT_NE(error_of([&] { models::read_safetensors(file); }).find("needs 20"), std::string::npos);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    const std::string h = "{not json";
    const uint64_t len = h.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << h;
  }
  EXPECT_NE(error_of([&] { models::read_safetensors(file); }).find("not valid JSON"), std::string::npos);
}

TEST(Checkpoint, MissingTensorOrWrongShapeIsNamed) {
  TempDir tmp;
  const auto c = tiny_llama();
  auto tensors = llama_tensors(c, 3);
  tensors.erase("model.layers.1.mlp.up_proj.weight");
  const auto dir = save_model(tmp.path() / "missing", c, tensors);
  std::string e = error_of([&] { models::load_model(dir, cpu(), at::kFloat); });
  EXPECT_NE(e.find("tensor 'model.layers.1.mlp.up_proj.weight' is missing"), std::string::npos) << e;

  tensors = llama_tensors(c, 3);
  tensors["model.layers.0.self_attn.k_proj.weight"] = at::zeros({17, 32});
  const auto dir2 = save_model(tmp.path() / "shape", c, tensors);
  e = error_of([&] { models::load_model(dir2, cpu(), at::kFloat); });
  EXPECT_NE(e.find("model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [17, 32], config says [16, 32]"),
            std::string::npos)
      << e;
}

TEST(Checkpoint, UnknownModelTypeAndBadConfig) {
  TempDir tmp;
  const auto dir = tmp.path() / "m";
  fs::create_directories(dir);
  write_text(dir / "config.json", R"({"model_type": "mamba", "vocab_size": 10})");
  std::string e = error_of([&] { models::load_model(dir, cpu(), at::kFloat); });
  EXPECT_NE(e.find("config.json: key 'model_type' names unknown model type 'mamba'"), std::string::npos) << e;
  write_text(dir / "config.json", R"({"model_type": "gpt2", "vocab_size": 10, "n_embd": "wide"})");
  e = error_of([&] { models::load_model(dir, cpu(), at::kFloat); });
  EXPECT_NE(e.find("key 'n_embd' must be an integer"), std::string::npos) << e;
  write_text(dir / "config.json", "{");
  EXPECT_NE(error_of([&] { models::load_model(dir, cpu(), at::kFloat); }).find("not valid JSON"), std::string::npos);
}

TEST(Checkpoint, PytorchBinOnlySaysToConvert) {
  TempDir tmp;
  const auto c = tiny_llama();
  const auto dir = tmp.path() / "m";
  fs::create_directories(dir);
  write_text(dir / "config.json", models::to_hf_config_json(c));
  write_text(dir / "pytorch_model.bin", "not really");
  const std::string e = error_of([&] { models::load_model(dir, cpu(), at::kFloat); });
  EXPECT_NE(e.find("pytorch_model.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("safetensors"), std::string::npos) << e;
}

TEST(Checkpoint, TruncatedLlama2cIsNamed) {
  TempDir tmp;
  const auto file = tmp.path() / "model.bin";
  {
    std::ofstream out(file, std::ios::binary);
    const int32_t header[7] = {64, 172, 5, 8, 4, 512, 512};
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    out << std::string(1000, '\0');
  }
  const std::string e = error_of([&] { models::load_model(file, cpu(), at::kFloat); });
  EXPECT_NE(e.find(file.string() + ": truncated"), std::string::npos) << e;
}

// ---- the forward pass -------------------------------------------------------------------------

TEST(Decoder, CachedDecodeEqualsFullForward) {
  const auto c = tiny_llama();
  models::TensorSet set;
  for (auto& [k, v] : llama_tensors(c, 4)) set.tensors[k] = v;
  const auto model = models::build_model(c, set, "test", cpu(), at::kFloat);
  const std::vector<int64_t> prompt = {5, 17, 3, 88, 41};
  const auto gen = models::generate_greedy(model, {prompt}, 12).tokens.at(0);
  ASSERT_EQ(gen.size(), 12u);
  // Uncached: re-run the whole sequence for every step and take the argmax of the last logits.
  std::vector<int64_t> seq = prompt;
  for (int step = 0; step < 12; ++step) {
    const at::Tensor ids = at::tensor(seq, at::kLong).unsqueeze(0);
    const at::Tensor logits = model.logits(model.forward(ids, at::Tensor(), nullptr));
    const int64_t next = logits[0][-1].argmax().item<int64_t>();
    EXPECT_EQ(next, gen[step]) << "step " << step;
    seq.push_back(next);
  }
}

TEST(Decoder, LeftPaddedBatchEqualsPromptsAlone) {
  const auto c = tiny_llama();
  models::TensorSet set;
  for (auto& [k, v] : llama_tensors(c, 5)) set.tensors[k] = v;
  const auto model = models::build_model(c, set, "test", cpu(), at::kFloat);
  const std::vector<std::vector<int64_t>> prompts = {{1}, {4, 5, 6, 7, 8, 9, 10}, {20, 30, 40}};
  const auto batch = models::generate_greedy(model, prompts, 10).tokens;
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(batch[i], models::generate_greedy(model, {prompts[i]}, 10).tokens.at(0)) << "prompt " << i;
}

TEST(Decoder, TokenIdPastTheVocabularyIsAnError) {
  const auto c = tiny_llama();
  models::TensorSet set;
  for (auto& [k, v] : llama_tensors(c, 6)) set.tensors[k] = v;
  const auto model = models::build_model(c, set, "test", cpu(), at::kFloat);
  const std::string e = error_of([&] { models::generate_greedy(model, {{3, 97}}, 2); });
  EXPECT_NE(e.find("token id 97 is outside the vocabulary of 97"), std::string::npos) << e;
}

// ---- the command line ---------------------------------------------------------------------------

using testing::run_cli;

TEST(CliModels, ScoreWritesLogProbsAndRejectsIdsPastTheVocabulary) {
  TempDir tmp;
  const auto c = tiny_llama();
  const auto dir = save_model(tmp.path() / "m", c, llama_tensors(c, 7));
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8};
  corpus::write_npy_i64(tmp.path() / "ids.npy", ids.data(), {2, 4});
  auto r = run_cli({"score", "--model", dir.string(), "--input", (tmp.path() / "ids.npy").string(), "--output",
                (tmp.path() / "out.npy").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto header = corpus::read_npy_header(tmp.path() / "out.npy");
  EXPECT_EQ(header.descr, "<f4");
  EXPECT_EQ(header.shape, (std::vector<int64_t>{2, 3}));

  const std::vector<int64_t> bad = {1, 2, 3, 97};
  corpus::write_npy_i64(tmp.path() / "bad.npy", bad.data(), {1, 4});
  fs::remove(tmp.path() / "out2.npy");
  r = run_cli({"score", "--model", dir.string(), "--input", (tmp.path() / "bad.npy").string(), "--output",
           (tmp.path() / "out2.npy").string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.npy: token id 97 at [0, 3] is outside the model's vocabulary of 97"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "out2.npy"));  // nothing written on error
}

TEST(CliModels, GeneratePrintsIdsAndRejectsBadIds) {
  TempDir tmp;
  const auto c = tiny_llama();
  const auto dir = save_model(tmp.path() / "m", c, llama_tensors(c, 8));
  auto r = run_cli({"generate", "--model", dir.string(), "--prompt-ids", "3 4 5", "--max-new-tokens", "6", "--greedy",
                "--print-ids"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream words(r.out);
  int n = 0;
  for (int64_t id; words >> id; ++n) EXPECT_LT(id, 97);
  EXPECT_EQ(n, 6);
  r = run_cli({"generate", "--model", dir.string(), "--prompt-ids", "3 400", "--max-new-tokens", "2", "--greedy", "--print-ids"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("prompt token id 400 is outside the vocabulary of 97"), std::string::npos) << r.err;
  r = run_cli({"generate", "--model", (tmp.path() / "nope").string(), "--prompt-ids", "3", "--max-new-tokens", "2",
           "--greedy", "--print-ids"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("model not found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eidetic
