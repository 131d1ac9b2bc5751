// models/model.h: one causal decoder for GPT-2, GPT-Neo, GPT-NeoX/Pythia and Llama.
//
// The forward pass is written once; ModelConfig's switches select the family's semantics. At
// load, weights are brought to one layout: every projection is an nn.Linear-style [out, in]
// matrix (GPT-2's Conv1D weights are transposed), query/key/value are one fused matrix whose
// rows are all query heads, then all key heads, then all value heads (NeoX's per-head
// interleaving is undone), and a gated MLP's gate and up projections are one matrix. Which
// checkpoint tensor fills which of these, and how, is each family's table in
// models/families.h, which both build_model and hf_state_dict read.
//
// Batches of prompts of different lengths are left-padded; a mask marks the real tokens. Each
// row's positions count only its real tokens, as Hugging Face does when it is given an
// attention mask, so a padded prompt computes exactly what it computes alone.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/safetensors.h"

namespace eidetic::models {

struct LayerWeights {
  at::Tensor norm1_weight, norm1_bias;  // (H); bias undefined for RMSNorm
  at::Tensor norm2_weight, norm2_bias;  // (H)
  at::Tensor qkv_weight, qkv_bias;      // ((Hq + 2 Hkv) D, H), ((Hq + 2 Hkv) D)
  at::Tensor out_weight, out_bias;      // (H, Hq D), (H)
  at::Tensor up_weight, up_bias;        // (I, H) or gated (2 I, H): gate rows, then up rows
  at::Tensor down_weight, down_bias;    // (H, I), (H)
};

struct ModelWeights {
  at::Tensor embed;                       // (V, H)
  at::Tensor position_embed;              // (P, H), learned positions only
  at::Tensor final_norm_weight, final_norm_bias;
  at::Tensor lm_head;                     // (V, H); the embedding itself when tied
  std::vector<LayerWeights> layers;
};

// Static key/value cache: per layer (B, Hkv, capacity, D) buffers, filled left to right.
struct KVCache {
  std::vector<at::Tensor> keys, values;  // per layer (B, Hkv, capacity, D)
  at::Tensor key_valid;                  // (B, capacity) bool: the slot holds a real token
  at::Tensor next_position;              // (B) int64: position of each row's next token
  int64_t length = 0;                    // slots filled
  int64_t capacity = 0;
};

class Model {
 public:
  Model(ModelConfig config, ModelWeights weights, at::Device device, at::ScalarType dtype);

  const ModelConfig& config() const { return config_; }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }

  // An empty cache for `batch` rows of up to `capacity` tokens.
  KVCache new_cache(int64_t batch, int64_t capacity) const;

  // Hidden states after the final norm, (B, T, H), for ids (B, T) whose real tokens are marked
  // by mask (B, T) (undefined: all real). With a cache, the tokens are appended after what it
  // holds (prefill, then one token at a time for decode); without, it is a full forward.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask, KVCache* cache) const;

  // One decoding step for every row, written for CUDA graph capture: no host synchronization,
  // no allocation that depends on data, static shapes. ids (B) int64 on the model's device are
  // appended at cache slot `slot` (a one-element int64 device tensor); attention covers the
  // whole cache capacity under a mask. Advances cache.next_position (not `slot`, not
  // cache.length: the caller owns those). Returns hidden states (B, H).
  at::Tensor decode_step(const at::Tensor& ids, const at::Tensor& slot, KVCache& cache) const;

  // Logits (..., V) in float32 for hidden states (..., H).
  at::Tensor logits(const at::Tensor& hidden) const;
  // Logits (..., V) in the model's dtype (what the fused kernels read).
  at::Tensor logits_native(const at::Tensor& hidden) const;

  // Bytes of the weights as loaded (for the roofline).
  int64_t weight_bytes() const;

  // Every weight tensor (defined ones; a tied head only once, as the embedding) in a fixed
  // order: embeddings, then per layer norm1, qkv, out, norm2, up, down (weight before bias),
  // then the final norm and the head. The tensors are the model's own, so an optimizer can
  // update them in place, and with requires_grad set, forward() records autograd
  // (models/export.cpp).
  std::vector<at::Tensor> parameters() const;

  // The weights under Hugging Face names and in its layout for the config's family: the
  // family's table (models/families.h) read backwards, each transform inverted (GPT-2's Conv1D
  // matrices transposed back, NeoX's per-head [q, k, v] rows re-interleaved, fused q/k/v and
  // gate/up split). The head is omitted when tied. Tensors are detached and may share memory
  // with the weights (clone before modifying). build_model(config(), hf_state_dict()) rebuilds
  // this model bit for bit (models/export.cpp).
  std::map<std::string, at::Tensor> hf_state_dict() const;

  // The weights themselves, in the internal layout.
  const ModelWeights& weights() const { return weights_; }

 private:
  at::Tensor norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const;
  at::Tensor attention_block(int64_t layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                             const at::Tensor& attn_mask, const at::Tensor& local_mask,
                             const std::function<std::pair<at::Tensor, at::Tensor>(at::Tensor, at::Tensor)>& store) const;
  at::Tensor residual_block(int64_t layer, const at::Tensor& x, const at::Tensor& attn_out) const;
  at::Tensor mlp(const LayerWeights& l, const at::Tensor& x) const;

  ModelConfig config_;
  ModelWeights weights_;
  at::Device device_;
  at::ScalarType dtype_;
  at::Tensor rope_cos_, rope_sin_;  // (P, rotary_dim) float32
};

// Builds a model from named tensors (Hugging Face names for the config's family, as its table in
// models/families.h lists them), checking every tensor's presence, shape and dtype; `where`
// names the checkpoint in errors about a missing tensor, the tensor's file those about one.
Model build_model(const ModelConfig& config, const TensorSet& tensors, const std::string& where,
                  at::Device device, at::ScalarType dtype);

// Opens a checkpoint: a Hugging Face model folder (config.json + safetensors), a GGUF file
// (models/gguf.h) or a llama2.c .bin file. Errors name the file and the problem.
Model load_model(const std::filesystem::path& path, at::Device device, at::ScalarType dtype);

// Parses "fp32" / "fp16" / "bf16" (and "float32", "float16", "bfloat16").
at::ScalarType parse_dtype(const std::string& name);
// Parses "cpu" / "cuda" / "cuda:N", checking that CUDA is usable when asked for.
at::Device parse_device(const std::string& name);

}  // namespace eidetic::models
