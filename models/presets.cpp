// models/presets.cpp: see presets.h.
#include "models/presets.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace eidetic::models {
namespace {

ModelConfig neox(int64_t layers, int64_t hidden, int64_t heads) {
  ModelConfig c;
  c.family = Family::gpt_neox;
  c.vocab_size = 50304;
  c.hidden_size = hidden;
  c.num_layers = layers;
  c.num_heads = c.num_kv_heads = heads;
  c.head_dim = hidden / heads;
  c.intermediate_size = 4 * hidden;
  c.max_positions = 2048;
  c.activation = Activation::gelu_exact;
  c.positions = PositionKind::rotary;
  c.rotary_dim = c.head_dim / 4;
  c.parallel_residual = true;
  c.bos_token_id = 0;
  c.eos_token_id = 0;
  return c;
}

}  // namespace

std::vector<std::string> preset_names() {
  return {"gpt2-124m", "pythia-160m", "pythia-410m", "pythia-1.4b", "gpt2-tiny", "test-tiny"};
}

ModelConfig preset_config(const std::string& name) {
  if (name == "pythia-160m") return neox(12, 768, 12);
  if (name == "pythia-410m") return neox(24, 1024, 16);
  if (name == "pythia-1.4b") return neox(24, 2048, 16);
  if (name == "gpt2-124m" || name == "gpt2-tiny" || name == "test-tiny") {
    ModelConfig c;
    c.family = Family::gpt2;
    c.vocab_size = 50257;
    c.hidden_size = 768;
    c.num_layers = 12;
    c.num_heads = c.num_kv_heads = 12;
    c.head_dim = 64;
    c.intermediate_size = 3072;
    c.max_positions = 1024;
    c.activation = Activation::gelu_tanh;
    c.tied_embeddings = true;
    c.bos_token_id = c.eos_token_id = 50256;
    if (name == "gpt2-tiny") {  // GPT-2's vocabulary and positions, a tiny body: pipelines on a CPU
      c.hidden_size = 64;
      c.num_layers = 2;
      c.num_heads = c.num_kv_heads = 4;
      c.head_dim = 16;
      c.intermediate_size = 256;
    }
    if (name == "test-tiny") {
      c.vocab_size = 512;
      c.hidden_size = 64;
      c.num_layers = 2;
      c.num_heads = c.num_kv_heads = 4;
      c.head_dim = 16;
      c.intermediate_size = 256;
      c.max_positions = 256;
      c.bos_token_id = c.eos_token_id = 0;
    }
    return c;
  }
  std::string names;
  for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  throw Error("unknown architecture '" + name + "' (known: " + names + ")");
}

Model random_model(const ModelConfig& c, at::Device device, at::ScalarType dtype, uint64_t seed) {
  c.validate("architecture " + std::string(family_name(c.family)));
  at::manual_seed(seed);
  const auto opts = at::TensorOptions().device(device).dtype(dtype);
  auto normal = [&](std::vector<int64_t> shape) { return at::randn(shape, opts) * 0.02; };
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t qkv = (c.num_heads + 2 * c.num_kv_heads) * D;
  ModelWeights w;
  w.embed = normal({c.vocab_size, H});
  if (c.positions == PositionKind::learned) w.position_embed = normal({c.max_positions, H});
  w.final_norm_weight = at::ones({H}, opts);
  if (c.norm == Norm::layer_norm) w.final_norm_bias = at::zeros({H}, opts);
  w.lm_head = c.tied_embeddings ? w.embed : normal({c.vocab_size, H});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    LayerWeights l;
    l.norm1_weight = at::ones({H}, opts);
    l.norm2_weight = at::ones({H}, opts);
    if (c.norm == Norm::layer_norm) l.norm1_bias = at::zeros({H}, opts), l.norm2_bias = at::zeros({H}, opts);
    l.qkv_weight = normal({qkv, H});
    if (c.qkv_bias) l.qkv_bias = at::zeros({qkv}, opts);
    l.out_weight = normal({H, c.num_heads * D});
    if (c.out_bias) l.out_bias = at::zeros({H}, opts);
    l.up_weight = normal({(c.gated_mlp ? 2 : 1) * I, H});
    if (c.mlp_bias) l.up_bias = at::zeros({(c.gated_mlp ? 2 : 1) * I}, opts);
    l.down_weight = normal({H, I});
    if (c.mlp_bias) l.down_bias = at::zeros({H}, opts);
    w.layers.push_back(std::move(l));
  }
  return Model(c, std::move(w), device, dtype);
}

}  // namespace eidetic::models
