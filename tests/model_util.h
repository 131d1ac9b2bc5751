// tests/model_util.h: tiny models with random weights, built in memory, for tests.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "models/config.h"
#include "models/model.h"

namespace eidetic::testing {

using models::ModelConfig;

inline ModelConfig tiny_llama() {
  ModelConfig c;
  c.family = models::Family::llama;
  c.vocab_size = 97;
  c.hidden_size = 32;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.intermediate_size = 48;
  c.max_positions = 64;
  c.norm = models::Norm::rms_norm;
  c.activation = models::Activation::silu;
  c.gated_mlp = true;
  c.qkv_bias = c.out_bias = c.mlp_bias = false;
  c.positions = models::PositionKind::rotary;
  c.rotary_dim = 8;
  return c;
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
  ModelConfig c;
  c.family = models::Family::gpt_neo;
  c.vocab_size = 61;
  c.hidden_size = 24;
  c.num_layers = 2;
  c.num_heads = 3;
  c.num_kv_heads = 3;
  c.head_dim = 8;
  c.intermediate_size = 40;
  c.max_positions = 64;
  c.activation = models::Activation::gelu_tanh;
  c.qkv_bias = false;
  c.scale_attention = false;
  c.attention_in_fp32 = true;
  c.local_layers = {false, true};
  c.window_size = 4;
  c.tied_embeddings = true;
  return c;
}

inline std::map<std::string, at::Tensor> gpt_neo_tensors(const ModelConfig& c, uint64_t seed) {
  at::manual_seed(seed);
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  std::map<std::string, at::Tensor> t;
  t["transformer.wte.weight"] = at::randn({c.vocab_size, H});
  t["transformer.wpe.weight"] = at::randn({c.max_positions, H}) * 0.5;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "transformer.h." + std::to_string(i) + ".";
    t[p + "ln_1.weight"] = 1 + 0.1 * at::randn({H});
    t[p + "ln_1.bias"] = 0.1 * at::randn({H});
    for (const char* n : {"q_proj", "k_proj", "v_proj"}) t[p + "attn.attention." + n + ".weight"] = at::randn({H, H}) * 0.3;
    t[p + "attn.attention.out_proj.weight"] = at::randn({H, H}) * 0.3;
    t[p + "attn.attention.out_proj.bias"] = 0.1 * at::randn({H});
    t[p + "ln_2.weight"] = 1 + 0.1 * at::randn({H});
    t[p + "ln_2.bias"] = 0.1 * at::randn({H});
    t[p + "mlp.c_fc.weight"] = at::randn({I, H}) * 0.3;
    t[p + "mlp.c_fc.bias"] = 0.1 * at::randn({I});
    t[p + "mlp.c_proj.weight"] = at::randn({H, I}) * 0.3;
    t[p + "mlp.c_proj.bias"] = 0.1 * at::randn({H});
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
