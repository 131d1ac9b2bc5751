// tests/model_util.h: tiny models with random weights, built in memory, for tests.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "models/config.h"
#include "models/model.h"

namespace eidetic::testing {

using models::ModelConfig;

// The sizes of a test model; the family helpers below add each family's other choices.
struct Sizes {
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, intermediate = 0, max_positions = 0;
};

// A config of `family` with these sizes and ModelConfig's defaults for everything else.
inline ModelConfig sized_config(models::Family family, const Sizes& s) {
  ModelConfig c;
  c.family = family;
  c.vocab_size = s.vocab;
  c.hidden_size = s.hidden;
  c.num_layers = s.layers;
  c.num_heads = s.heads;
  c.num_kv_heads = s.kv_heads;
  c.head_dim = s.head_dim;
  c.intermediate_size = s.intermediate;
  c.max_positions = s.max_positions;
  return c;
}

// Rotary positions on the first `rotary_dim` dimensions of each head.
inline ModelConfig rotary(ModelConfig c, int64_t rotary_dim) {
  c.positions = models::PositionKind::rotary;
  c.rotary_dim = rotary_dim;
  return c;
}

// Llama: no biases, RMSNorm, a gated SiLU MLP, rotary positions on `rotary_dim` dimensions.
inline ModelConfig llama_config(const Sizes& s, int64_t rotary_dim) {
  ModelConfig c = rotary(sized_config(models::Family::llama, s), rotary_dim);
  c.qkv_bias = c.out_bias = c.mlp_bias = false;
  c.norm = models::Norm::rms_norm;
  c.activation = models::Activation::silu;
  c.gated_mlp = true;
  return c;
}

// GPT-NeoX: exact GELU, rotary positions on `rotary_dim` dimensions, a parallel residual.
inline ModelConfig neox_config(const Sizes& s, int64_t rotary_dim) {
  ModelConfig c = rotary(sized_config(models::Family::gpt_neox, s), rotary_dim);
  c.activation = models::Activation::gelu_exact;
  c.parallel_residual = true;
  return c;
}

// GPT-2: tanh GELU, learned positions, the head tied to the embedding.
inline ModelConfig gpt2_config(const Sizes& s) {
  ModelConfig c = sized_config(models::Family::gpt2, s);
  c.activation = models::Activation::gelu_tanh;
  c.tied_embeddings = true;
  return c;
}

// GPT-Neo: GPT-2's choices without q/k/v biases, with unscaled scores computed in fp32, and the
// second of two layers attending only to the last `window` positions.
inline ModelConfig gpt_neo_config(const Sizes& s, int64_t window) {
  ModelConfig c = gpt2_config(s);
  c.family = models::Family::gpt_neo;
  c.qkv_bias = false;
  c.scale_attention = false;
  c.attention_in_fp32 = true;
  c.local_layers = {false, true};
  c.window_size = window;
  return c;
}

inline ModelConfig tiny_llama() {
  return llama_config({.vocab = 97, .hidden = 32, .layers = 2, .heads = 4, .kv_heads = 2, .head_dim = 8,
                       .intermediate = 48, .max_positions = 64},
                      8);
}

inline std::map<std::string, at::Tensor> llama_tensors(const ModelConfig& c, uint64_t seed) {
  at::manual_seed(seed);
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const int64_t Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim;
  std::map<std::string, at::Tensor> t;
  t["model.embed_tokens.weight"] = at::randn({V, H});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t[p + "input_layernorm.weight"] = 1 + 0.1 * at::randn({H});
    t[p + "self_attn.q_proj.weight"] = at::randn({Q, H}) * 0.3;
    t[p + "self_attn.k_proj.weight"] = at::randn({KV, H}) * 0.3;
    t[p + "self_attn.v_proj.weight"] = at::randn({KV, H}) * 0.3;
    t[p + "self_attn.o_proj.weight"] = at::randn({H, Q}) * 0.3;
    t[p + "post_attention_layernorm.weight"] = 1 + 0.1 * at::randn({H});
    t[p + "mlp.gate_proj.weight"] = at::randn({I, H}) * 0.3;
    t[p + "mlp.up_proj.weight"] = at::randn({I, H}) * 0.3;
    t[p + "mlp.down_proj.weight"] = at::randn({H, I}) * 0.3;
  }
  t["model.norm.weight"] = at::ones({H});
  t["lm_head.weight"] = at::randn({V, H});
  return t;
}

// A GPT-Neo with a local window shorter than the sequences the tests use.
inline ModelConfig tiny_gpt_neo() {
  return gpt_neo_config({.vocab = 61, .hidden = 24, .layers = 2, .heads = 3, .kv_heads = 3, .head_dim = 8,
                         .intermediate = 40, .max_positions = 64},
                        4);
}

// Random tensors for the builders here and in the suites, drawn from the global generator in
// the order of the calls. A norm under `name`: a weight near 1 and a bias near 0, of size n.
inline void add_norm(std::map<std::string, at::Tensor>& t, const std::string& name, int64_t n) {
  t[name + ".weight"] = 1 + 0.1 * at::randn({n});
  t[name + ".bias"] = 0.1 * at::randn({n});
}

// A projection under `name`: a weight of `shape` times 0.3, then a bias of `bias_size` times
// `bias_scale`.
inline void add_linear(std::map<std::string, at::Tensor>& t, const std::string& name, at::IntArrayRef shape,
                       int64_t bias_size, double bias_scale = 0.1) {
  t[name + ".weight"] = at::randn(shape) * 0.3;
  t[name + ".bias"] = at::randn({bias_size}) * bias_scale;
}

// What GPT-2 and GPT-Neo draw first after seeding: the token and position embeddings.
inline std::map<std::string, at::Tensor> gpt2_embeddings(const ModelConfig& c, uint64_t seed) {
  at::manual_seed(seed);
  std::map<std::string, at::Tensor> t;
  t["transformer.wte.weight"] = at::randn({c.vocab_size, c.hidden_size});
  t["transformer.wpe.weight"] = at::randn({c.max_positions, c.hidden_size}) * 0.5;
  return t;
}

inline std::map<std::string, at::Tensor> gpt_neo_tensors(const ModelConfig& c, uint64_t seed) {
  std::map<std::string, at::Tensor> t = gpt2_embeddings(c, seed);
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "transformer.h." + std::to_string(i) + ".";
    add_norm(t, p + "ln_1", H);
    for (const char* n : {"q_proj", "k_proj", "v_proj"}) t[p + "attn.attention." + n + ".weight"] = at::randn({H, H}) * 0.3;
    add_linear(t, p + "attn.attention.out_proj", {H, H}, H);
    add_norm(t, p + "ln_2", H);
    add_linear(t, p + "mlp.c_fc", {I, H}, I);
    add_linear(t, p + "mlp.c_proj", {H, I}, H);
  }
  t["transformer.ln_f.weight"] = at::ones({H});
  t["transformer.ln_f.bias"] = at::zeros({H});
  return t;
}

inline models::Model make_model(const ModelConfig& c, const std::map<std::string, at::Tensor>& tensors,
                                at::Device device = at::Device(at::kCPU), at::ScalarType dtype = at::kFloat) {
  models::TensorSet set;
  for (const auto& [k, v] : tensors) set.tensors[k] = v;
  return models::build_model(c, set, "test", device, dtype);
}

}  // namespace eidetic::testing
