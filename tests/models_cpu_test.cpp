// Models on the CPU: loading (and every way a checkpoint can be wrong), the family weight
// tables (export then load is exact, for every family), the KV cache against the full forward,
// left padding against prompts run alone, and the CLI's error paths.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "corpus/npy.h"
#include "cli_util.h"
#include "models/config.h"
#include "models/families.h"
#include "models/generate.h"
#include "models/model.h"
#include "models/presets.h"
#include "models/safetensors.h"
#include "model_util.h"
#include "test_util.h"

namespace eidetic {
namespace {

namespace fs = std::filesystem;
using models::ModelConfig;
using testing::llama_tensors;
using testing::tiny_llama;

using testing::error_of;
using testing::TempDir;

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

// A model folder with config.json and model.safetensors.
fs::path save_model(const fs::path& dir, const ModelConfig& c, const std::map<std::string, at::Tensor>& t) {
  fs::create_directories(dir);
  write_text(dir / "config.json", models::to_hf_config_json(c));
  models::write_safetensors(dir / "model.safetensors", t);
  return dir;
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

// ---- family weight tables (models/families.h) ---------------------------------------------------

// Configs as transformers writes them, covering every table entry (FamilyTables.CasesCoverEveryEntry):
// tied and untied heads, projection biases on and off, grouped-query attention.
struct FamilyCase {
  const char* name;
  const char* config_json;
};
const FamilyCase family_cases[] = {
    {"gpt2", R"({"model_type": "gpt2", "vocab_size": 37, "n_embd": 16, "n_layer": 2, "n_head": 2,
                 "n_positions": 24})"},
    {"gpt2_untied", R"({"model_type": "gpt2", "vocab_size": 37, "n_embd": 16, "n_layer": 2, "n_head": 2,
                        "n_positions": 24, "tie_word_embeddings": false})"},
    {"gpt_neo", R"({"model_type": "gpt_neo", "vocab_size": 37, "hidden_size": 16, "num_layers": 2,
                    "num_heads": 2, "max_position_embeddings": 24,
                    "attention_types": [[["global", "local"], 1]]})"},
    {"gpt_neo_untied", R"({"model_type": "gpt_neo", "vocab_size": 37, "hidden_size": 16, "num_layers": 2,
                           "num_heads": 2, "max_position_embeddings": 24, "tie_word_embeddings": false,
                           "attention_types": [[["global", "local"], 1]]})"},
    {"gpt_neox", R"({"model_type": "gpt_neox", "vocab_size": 37, "hidden_size": 16, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "intermediate_size": 24, "max_position_embeddings": 24})"},
    {"gpt_neox_tied_no_bias", R"({"model_type": "gpt_neox", "vocab_size": 37, "hidden_size": 16,
                                  "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 24,
                                  "max_position_embeddings": 24, "attention_bias": false,
                                  "tie_word_embeddings": true})"},
    {"llama_gqa", R"({"model_type": "llama", "vocab_size": 37, "hidden_size": 16, "num_hidden_layers": 2,
                      "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24})"},
    {"llama_tied_biases", R"({"model_type": "llama", "vocab_size": 37, "hidden_size": 16,
                              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                              "intermediate_size": 24, "attention_bias": true, "mlp_bias": true,
                              "tie_word_embeddings": true})"},
};

ModelConfig config_of(const FamilyCase& f) {
  TempDir tmp;
  return models::parse_hf_config(tmp.write("config.json", f.config_json));
}

// A model of `c` whose every weight is drawn at random (norms and biases too, so that a tensor
// read into the wrong place cannot go unnoticed by being all ones or zeros like its neighbour).
models::Model random_weights(const ModelConfig& c, at::ScalarType dtype, uint64_t seed) {
  models::Model m = models::random_model(c, cpu(), dtype, seed);
  for (at::Tensor p : m.parameters()) p.normal_();  // the model's own tensors, which need no grad
  return m;
}

models::TensorSet as_set(const std::map<std::string, at::Tensor>& tensors, const std::string& source) {
  models::TensorSet set;
  for (const auto& [name, t] : tensors) {
    set.tensors[name] = t;
    set.source[name] = source;
  }
  return set;
}

// Every internal tensor of `b` is `a`'s, bit for bit and in the same dtype (or both absent), and
// the head is tied in both or in neither.
void expect_same_weights(const models::ModelWeights& a, const models::ModelWeights& b, const std::string& what) {
  ASSERT_EQ(a.layers.size(), b.layers.size()) << what;
  for (int s = 0; s <= static_cast<int>(models::Slot::down_bias); ++s) {
    const auto slot = static_cast<models::Slot>(s);
    const int64_t layers = models::is_layer_slot(slot) ? static_cast<int64_t>(a.layers.size()) : 1;
    for (int64_t i = 0; i < layers; ++i) {
      const at::Tensor& x = models::slot_tensor(a, slot, i);
      const at::Tensor& y = models::slot_tensor(b, slot, i);
      const std::string where = what + ": " + models::slot_name(slot) + " of layer " + std::to_string(i);
      ASSERT_EQ(x.defined(), y.defined()) << where;
      if (!x.defined()) continue;
      EXPECT_EQ(x.scalar_type(), y.scalar_type()) << where;
      EXPECT_TRUE(at::equal(x, y)) << where;
    }
  }
  EXPECT_EQ(a.lm_head.is_same(a.embed), b.lm_head.is_same(b.embed)) << what;
}

class Families : public ::testing::TestWithParam<FamilyCase> {};

// Random internal weights, exported to Hugging Face names and loaded back: every tensor
// identical. The export holds exactly what the table plans for the config, in its shapes.
TEST_P(Families, ExportThenLoadIsBitIdentical) {
  const ModelConfig c = config_of(GetParam());
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    const std::string what = std::string(GetParam().name) + " " + c10::toString(dtype);
    const models::Model m = random_weights(c, dtype, 11);
    const auto exported = m.hf_state_dict();
    const auto plan = models::weight_plan(c, !c.tied_embeddings);
    EXPECT_EQ(exported.size(), plan.size()) << what;
    for (const auto& p : plan) {
      ASSERT_TRUE(exported.count(p.name)) << what << ": " << p.name;
      EXPECT_EQ(exported.at(p.name).sizes().vec(), p.shape) << what << ": " << p.name;
    }
    const models::Model back = models::build_model(c, as_set(exported, "exported"), "exported", cpu(), dtype);
    expect_same_weights(m.weights(), back.weights(), what);
  }
}

// A checkpoint of the bare base model (GPT2Model rather than GPT2LMHeadModel) names the same
// tensors without the base prefix; it loads the same.
TEST_P(Families, BaseModelNamesWithoutThePrefixLoad) {
  const ModelConfig c = config_of(GetParam());
  const models::Model m = random_weights(c, at::kFloat, 12);
  const std::string prefix = models::family_layout(c.family).base_prefix;
  std::map<std::string, at::Tensor> bare;
  int stripped = 0;
  for (const auto& [name, t] : m.hf_state_dict()) {
    const bool prefixed = name.rfind(prefix, 0) == 0;
    stripped += prefixed;
    bare[prefixed ? name.substr(prefix.size()) : name] = t;
  }
  EXPECT_GT(stripped, 0);
  const models::Model back = models::build_model(c, as_set(bare, "bare"), "bare", cpu(), at::kFloat);
  expect_same_weights(m.weights(), back.weights(), GetParam().name);
}

// A missing tensor names the checkpoint and the tensor; a wrong shape names the file, the
// tensor, its shape and the one the config implies (in Hugging Face's layout). The tensor
// damaged is the last piece of the last layer's q/k/v projection: fused (GPT-Neo's and Llama's
// v_proj, grouped-query for Llama), transposed (GPT-2's c_attn) or interleaved (NeoX's).
TEST_P(Families, MissingTensorOrWrongShapeIsNamed) {
  TempDir tmp;
  const ModelConfig c = config_of(GetParam());
  const models::Model m = random_weights(c, at::kFloat, 13);
  const auto plan = models::weight_plan(c, !c.tied_embeddings);
  const auto target = std::find_if(plan.rbegin(), plan.rend(), [](const models::PlannedWeight& p) {
    return p.spec->slot == models::Slot::qkv_weight;
  });
  ASSERT_NE(target, plan.rend());
  ASSERT_EQ(target->layer, c.num_layers - 1);

  auto tensors = m.hf_state_dict();
  tensors.erase(target->name);
  const auto missing = save_model(tmp.path() / "missing", c, tensors);
  std::string e = error_of([&] { models::load_model(missing, cpu(), at::kFloat); });
  EXPECT_NE(e.find(missing.string() + ": tensor '" + target->name + "' is missing"), std::string::npos) << e;

  tensors = m.hf_state_dict();
  std::vector<int64_t> wrong = target->shape;
  wrong[0] += 1;
  tensors[target->name] = at::zeros(wrong);
  const auto shaped = save_model(tmp.path() / "shape", c, tensors);
  e = error_of([&] { models::load_model(shaped, cpu(), at::kFloat); });
  EXPECT_NE(e.find((shaped / "model.safetensors").string() + ": tensor '" + target->name + "' has shape " +
                   c10::str(at::IntArrayRef(wrong)) + ", config says " + c10::str(at::IntArrayRef(target->shape))),
            std::string::npos)
      << e;
}

// to_hf_config_json writes, under the family's keys, everything parse_hf_config read.
TEST_P(Families, ConfigWritesBackWhatItReads) {
  TempDir tmp;
  const ModelConfig a = config_of(GetParam());
  const ModelConfig b = models::parse_hf_config(tmp.write("config.json", models::to_hf_config_json(a)));
  EXPECT_EQ(b.family, a.family);
  EXPECT_EQ(std::vector<int64_t>({b.vocab_size, b.hidden_size, b.num_layers, b.num_heads, b.num_kv_heads, b.head_dim,
                                  b.intermediate_size, b.max_positions, b.rotary_dim, b.window_size}),
            std::vector<int64_t>({a.vocab_size, a.hidden_size, a.num_layers, a.num_heads, a.num_kv_heads, a.head_dim,
                                  a.intermediate_size, a.max_positions, a.rotary_dim, a.window_size}));
  EXPECT_EQ(std::vector<bool>({b.gated_mlp, b.qkv_bias, b.out_bias, b.mlp_bias, b.scale_attention,
                               b.attention_in_fp32, b.parallel_residual, b.tied_embeddings}),
            std::vector<bool>({a.gated_mlp, a.qkv_bias, a.out_bias, a.mlp_bias, a.scale_attention,
                               a.attention_in_fp32, a.parallel_residual, a.tied_embeddings}));
  EXPECT_EQ(b.norm, a.norm);
  EXPECT_EQ(b.norm_eps, a.norm_eps);  // written and read back as the same double
  EXPECT_EQ(b.activation, a.activation);
  EXPECT_EQ(b.positions, a.positions);
  EXPECT_EQ(b.rope_theta, a.rope_theta);
  EXPECT_EQ(b.local_layers, a.local_layers);
  EXPECT_EQ(b.bos_token_id, a.bos_token_id);
  EXPECT_EQ(b.eos_token_id, a.eos_token_id);
}

INSTANTIATE_TEST_SUITE_P(EveryFamily, Families, ::testing::ValuesIn(family_cases),
                         [](const ::testing::TestParamInfo<FamilyCase>& info) { return std::string(info.param.name); });

// An untied head missing from the checkpoint: GPT-2 and GPT-Neo fall back to the embedding (the
// table says untied_head_if_present), the others name the missing tensor.
TEST(FamilyTables, MissingUntiedHead) {
  int tied_after_all = 0, named = 0;
  for (const FamilyCase& f : family_cases) {
    const ModelConfig c = config_of(f);
    if (c.tied_embeddings) continue;  // no head tensor to leave out
    const models::Model m = random_weights(c, at::kFloat, 14);
    const auto plan = models::weight_plan(c, true);
    const auto head = std::find_if(plan.begin(), plan.end(), [](const models::PlannedWeight& p) {
      return p.spec->slot == models::Slot::lm_head;
    });
    ASSERT_NE(head, plan.end()) << f.name;
    auto tensors = m.hf_state_dict();
    ASSERT_EQ(tensors.erase(head->name), 1u) << f.name;
    if (head->spec->when == models::When::untied_head_if_present) {
      const models::Model back = models::build_model(c, as_set(tensors, "x"), "headless", cpu(), at::kFloat);
      EXPECT_TRUE(back.weights().lm_head.is_same(back.weights().embed)) << f.name;
      EXPECT_TRUE(at::equal(back.weights().embed, m.weights().embed)) << f.name;
      ++tied_after_all;
    } else {
      const std::string e = error_of([&] { models::build_model(c, as_set(tensors, "x"), "headless", cpu(), at::kFloat); });
      EXPECT_NE(e.find("headless: tensor '" + head->name + "' is missing"), std::string::npos) << f.name << ": " << e;
      ++named;
    }
  }
  EXPECT_EQ(tied_after_all, 2);  // gpt2_untied, gpt_neo_untied
  EXPECT_EQ(named, 2);           // gpt_neox, llama_gqa
}

// The cases above plan every entry of every table at least once, so the round trip covers each.
TEST(FamilyTables, CasesCoverEveryEntry) {
  std::set<const models::WeightSpec*> planned;
  for (const FamilyCase& f : family_cases) {
    const ModelConfig c = config_of(f);
    for (const auto& p : models::weight_plan(c, !c.tied_embeddings)) planned.insert(p.spec);
  }
  for (const auto family : {models::Family::gpt2, models::Family::gpt_neo, models::Family::gpt_neox, models::Family::llama})
    for (const auto& spec : models::family_layout(family).weights)
      EXPECT_TRUE(planned.count(&spec)) << models::family_name(family) << ": " << spec.name << " is never planned";
}

// Each table keeps its own rules: names unique; "{layer}" in a name exactly when its slot is a
// layer's; every name but the head's under the base prefix; the table describes its own family.
TEST(FamilyTables, NamesAreUniqueAndPlaceholdersMatchSlots) {
  for (const auto family : {models::Family::gpt2, models::Family::gpt_neo, models::Family::gpt_neox, models::Family::llama}) {
    const auto& layout = models::family_layout(family);
    EXPECT_EQ(layout.family, family);
    std::set<std::string> names;
    for (const auto& spec : layout.weights) {
      const std::string name = spec.name;
      EXPECT_TRUE(names.insert(name).second) << name << " appears twice";
      EXPECT_EQ(name.find("{layer}") != std::string::npos, models::is_layer_slot(spec.slot)) << name;
      if (spec.slot != models::Slot::lm_head) {
        EXPECT_EQ(name.rfind(layout.base_prefix, 0), 0u) << name;
      }
    }
  }
}

// NeoX's per-head [q_h; k_h; v_h] rows become [all q; all k; all v] and back, worked out by hand
// for 2 heads of 2 dims; Conv1D's [in, out] is transposed both ways.
TEST(FamilyTables, TransformsMoveRowsAsDocumentedAndInvert) {
  ModelConfig c;
  c.num_heads = c.num_kv_heads = 2;
  c.head_dim = 2;
  // Hugging Face rows: q0 q0 k0 k0 v0 v0 q1 q1 k1 k1 v1 v1 (rows 0..11); internal: q0 q0 q1 q1 k0 ...
  const at::Tensor order = at::tensor(std::vector<int64_t>{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11});
  const at::Tensor weight = at::arange(36, at::kFloat).reshape({12, 3});
  const at::Tensor bias = at::arange(12, at::kFloat);
  for (const at::Tensor& hf : {weight, bias}) {
    const at::Tensor internal = models::to_internal(models::Transform::neox_qkv, hf, c);
    EXPECT_TRUE(at::equal(internal, hf.index_select(0, order))) << hf.sizes();
    EXPECT_TRUE(at::equal(models::to_hf(models::Transform::neox_qkv, internal, c), hf)) << hf.sizes();
  }
  const at::Tensor conv = at::arange(6, at::kFloat).reshape({2, 3});  // [in, out]
  EXPECT_TRUE(at::equal(models::to_internal(models::Transform::transpose, conv, c), conv.t()));
  EXPECT_TRUE(at::equal(models::to_hf(models::Transform::transpose, conv.t(), c), conv));
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
