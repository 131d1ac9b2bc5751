// models/export.cpp: the model's weights handed back out: as a parameter list for an optimizer,
// as a Hugging Face state dict (the inverse of build_model's fused layout), and as a Hugging Face
// model folder that transformers loads as is. Lab-trained models leave Eidetic this way, so that
// other tools (and the oracle tests) can run exactly what was trained.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "models/model.h"
#include "models/safetensors.h"
#include "models/trainer.h"

namespace eidetic::models {

std::vector<at::Tensor> Model::parameters() const {
  std::vector<at::Tensor> out;
  auto add = [&](const at::Tensor& t) {
    if (t.defined()) out.push_back(t);
  };
  add(weights_.embed);
  add(weights_.position_embed);
  for (const auto& l : weights_.layers)
    for (const at::Tensor* t : {&l.norm1_weight, &l.norm1_bias, &l.qkv_weight, &l.qkv_bias, &l.out_weight,
                                &l.out_bias, &l.norm2_weight, &l.norm2_bias, &l.up_weight, &l.up_bias,
                                &l.down_weight, &l.down_bias})
      add(*t);
  add(weights_.final_norm_weight);
  add(weights_.final_norm_bias);
  if (weights_.lm_head.defined() && !weights_.lm_head.is_same(weights_.embed)) add(weights_.lm_head);
  return out;
}

std::map<std::string, at::Tensor> Model::hf_state_dict() const {
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, D = c.head_dim, I = c.intermediate_size;
  const int64_t Q = c.num_heads * D, KV = c.num_kv_heads * D;
  std::map<std::string, at::Tensor> out;
  auto put = [&](const std::string& name, const at::Tensor& t) {
    if (t.defined()) out[name] = t.detach().contiguous();
  };
  // Rows [begin, end) of the fused q/k/v (or gate/up) matrix or bias.
  auto rows = [](const at::Tensor& t, int64_t begin, int64_t end) {
    return t.defined() ? t.detach().slice(0, begin, end) : at::Tensor();
  };
  const bool tied = weights_.lm_head.is_same(weights_.embed);

  switch (c.family) {
    case Family::gpt2: {
      put("transformer.wte.weight", weights_.embed);
      put("transformer.wpe.weight", weights_.position_embed);
      for (int64_t i = 0; i < c.num_layers; ++i) {
        const LayerWeights& l = weights_.layers[i];
        const std::string p = "transformer.h." + std::to_string(i) + ".";
        put(p + "ln_1.weight", l.norm1_weight);
        put(p + "ln_1.bias", l.norm1_bias);
        // Conv1D stores [in, out].
        put(p + "attn.c_attn.weight", l.qkv_weight.detach().t());
        put(p + "attn.c_attn.bias", l.qkv_bias);
        put(p + "attn.c_proj.weight", l.out_weight.detach().t());
        put(p + "attn.c_proj.bias", l.out_bias);
        put(p + "ln_2.weight", l.norm2_weight);
        put(p + "ln_2.bias", l.norm2_bias);
        put(p + "mlp.c_fc.weight", l.up_weight.detach().t());
        put(p + "mlp.c_fc.bias", l.up_bias);
        put(p + "mlp.c_proj.weight", l.down_weight.detach().t());
        put(p + "mlp.c_proj.bias", l.down_bias);
      }
      put("transformer.ln_f.weight", weights_.final_norm_weight);
      put("transformer.ln_f.bias", weights_.final_norm_bias);
      if (!tied) put("lm_head.weight", weights_.lm_head);
      break;
    }
    case Family::gpt_neo: {
      put("transformer.wte.weight", weights_.embed);
      put("transformer.wpe.weight", weights_.position_embed);
      for (int64_t i = 0; i < c.num_layers; ++i) {
        const LayerWeights& l = weights_.layers[i];
        const std::string p = "transformer.h." + std::to_string(i) + ".";
        put(p + "ln_1.weight", l.norm1_weight);
        put(p + "ln_1.bias", l.norm1_bias);
        put(p + "attn.attention.q_proj.weight", rows(l.qkv_weight, 0, Q));
        put(p + "attn.attention.k_proj.weight", rows(l.qkv_weight, Q, Q + KV));
        put(p + "attn.attention.v_proj.weight", rows(l.qkv_weight, Q + KV, Q + 2 * KV));
        put(p + "attn.attention.out_proj.weight", l.out_weight);
        put(p + "attn.attention.out_proj.bias", l.out_bias);
        put(p + "ln_2.weight", l.norm2_weight);
        put(p + "ln_2.bias", l.norm2_bias);
        put(p + "mlp.c_fc.weight", l.up_weight);
        put(p + "mlp.c_fc.bias", l.up_bias);
        put(p + "mlp.c_proj.weight", l.down_weight);
        put(p + "mlp.c_proj.bias", l.down_bias);
      }
      put("transformer.ln_f.weight", weights_.final_norm_weight);
      put("transformer.ln_f.bias", weights_.final_norm_bias);
      if (!tied) put("lm_head.weight", weights_.lm_head);
      break;
    }
    case Family::gpt_neox: {
      const int64_t heads = c.num_heads;
      put("gpt_neox.embed_in.weight", weights_.embed);
      for (int64_t i = 0; i < c.num_layers; ++i) {
        const LayerWeights& l = weights_.layers[i];
        const std::string p = "gpt_neox.layers." + std::to_string(i) + ".";
        put(p + "input_layernorm.weight", l.norm1_weight);
        put(p + "input_layernorm.bias", l.norm1_bias);
        // [all q; all k; all v] back to per-head [q_h, k_h, v_h].
        put(p + "attention.query_key_value.weight",
            l.qkv_weight.detach().view({3, heads, D, H}).permute({1, 0, 2, 3}).reshape({3 * H, H}));
        if (l.qkv_bias.defined())
          put(p + "attention.query_key_value.bias",
              l.qkv_bias.detach().view({3, heads, D}).permute({1, 0, 2}).reshape({3 * H}));
        put(p + "attention.dense.weight", l.out_weight);
        put(p + "attention.dense.bias", l.out_bias);
        put(p + "post_attention_layernorm.weight", l.norm2_weight);
        put(p + "post_attention_layernorm.bias", l.norm2_bias);
        put(p + "mlp.dense_h_to_4h.weight", l.up_weight);
        put(p + "mlp.dense_h_to_4h.bias", l.up_bias);
        put(p + "mlp.dense_4h_to_h.weight", l.down_weight);
        put(p + "mlp.dense_4h_to_h.bias", l.down_bias);
      }
      put("gpt_neox.final_layer_norm.weight", weights_.final_norm_weight);
      put("gpt_neox.final_layer_norm.bias", weights_.final_norm_bias);
      if (!tied) put("embed_out.weight", weights_.lm_head);
      break;
    }
    case Family::llama: {
      put("model.embed_tokens.weight", weights_.embed);
      for (int64_t i = 0; i < c.num_layers; ++i) {
        const LayerWeights& l = weights_.layers[i];
        const std::string p = "model.layers." + std::to_string(i) + ".";
        put(p + "input_layernorm.weight", l.norm1_weight);
        put(p + "self_attn.q_proj.weight", rows(l.qkv_weight, 0, Q));
        put(p + "self_attn.k_proj.weight", rows(l.qkv_weight, Q, Q + KV));
        put(p + "self_attn.v_proj.weight", rows(l.qkv_weight, Q + KV, Q + 2 * KV));
        put(p + "self_attn.q_proj.bias", rows(l.qkv_bias, 0, Q));
        put(p + "self_attn.k_proj.bias", rows(l.qkv_bias, Q, Q + KV));
        put(p + "self_attn.v_proj.bias", rows(l.qkv_bias, Q + KV, Q + 2 * KV));
        put(p + "self_attn.o_proj.weight", l.out_weight);
        put(p + "self_attn.o_proj.bias", l.out_bias);
        put(p + "post_attention_layernorm.weight", l.norm2_weight);
        put(p + "mlp.gate_proj.weight", rows(l.up_weight, 0, I));
        put(p + "mlp.up_proj.weight", rows(l.up_weight, I, 2 * I));
        put(p + "mlp.gate_proj.bias", rows(l.up_bias, 0, I));
        put(p + "mlp.up_proj.bias", rows(l.up_bias, I, 2 * I));
        put(p + "mlp.down_proj.weight", l.down_weight);
        put(p + "mlp.down_proj.bias", l.down_bias);
      }
      put("model.norm.weight", weights_.final_norm_weight);
      if (!tied) put("lm_head.weight", weights_.lm_head);
      break;
    }
  }
  return out;
}

void save_hf_model(const Model& model, const std::filesystem::path& dir, const std::string& tokenizer_json) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the model folder (" + ec.message() + ")");

  nlohmann::json config = nlohmann::json::parse(to_hf_config_json(model.config()));
  config["torch_dtype"] = "float32";
  config["dtype"] = "float32";  // the key's newer name
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [name, t] : model.hf_state_dict()) tensors[name] = t.to(at::kCPU, at::kFloat);
  write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomic(dir / "config.json", config.dump(2) + "\n");
  if (!tokenizer_json.empty()) write_file_atomic(dir / "tokenizer.json", tokenizer_json);
}

}  // namespace eidetic::models
