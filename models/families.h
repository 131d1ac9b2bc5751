// models/families.h: each family's Hugging Face weight layout, written once, as data.
//
// A Hugging Face checkpoint names its tensors as its family's Python module does
// (`transformer.h.3.attn.c_attn.weight`, `model.layers.3.self_attn.q_proj.weight`) and keeps
// some of them in a layout of its own: GPT-2's Conv1D stores [in, out], GPT-NeoX interleaves
// q, k and v per head, Llama and GPT-Neo keep q, k, v (and Llama gate and up) apart. The decoder
// keeps one layout for every family (models/model.h).
//
// A family's table lists each Hugging Face tensor once: its name, with `{layer}` standing for
// the layer index; the internal tensor it fills (a Slot); its shape in Hugging Face's layout,
// in sizes the config fixes; the transform between the two layouts; and when a checkpoint has
// it (a bias the config switches on, an untied head). Entries that fill the same internal
// tensor stand together, and their rows are stacked in table order: q, k, v into the fused
// projection; gate, then up. build_model reads checkpoints through the table (Hugging Face to
// internal) and Model::hf_state_dict writes them through it (internal to Hugging Face, each
// transform inverted), as gpt-fast's `weight_map` serves both directions: a name and a
// transform are stated here and nowhere else.
//
// Adding a family is a parser for its config.json (models/config.cpp) and a table here.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/model.h"

namespace eidetic::models {

// An internal tensor: a member of ModelWeights, or of every layer's LayerWeights.
enum class Slot {
  embed, position_embed, final_norm_weight, final_norm_bias, lm_head,  // the whole model
  norm1_weight, norm1_bias, qkv_weight, qkv_bias, out_weight, out_bias,  // each layer
  norm2_weight, norm2_bias, up_weight, up_bias, down_weight, down_bias,
};

// A size the config fixes.
enum class Dim {
  vocab,         // vocab_size
  hidden,        // hidden_size
  positions,     // max_positions
  intermediate,  // intermediate_size
  q,             // num_heads * head_dim: all query heads
  kv,            // num_kv_heads * head_dim: all key (or value) heads
  qkv,           // q + 2 kv: the fused projection
};

// How a tensor goes from Hugging Face's layout to the internal one; export applies the inverse.
enum class Transform {
  none,
  transpose,  // GPT-2's Conv1D stores [in, out]; internal matrices are [out, in]
  neox_qkv,   // rows per head as [q_h; k_h; v_h] (then the next head); internal: all q, all k, all v
};

// When a checkpoint holds the tensor.
enum class When {
  always,
  qkv_bias,                // config.qkv_bias
  out_bias,                // config.out_bias
  mlp_bias,                // config.mlp_bias
  untied_head,             // the head is not the embedding (config.tied_embeddings is false)
  untied_head_if_present,  // as untied_head, and a checkpoint without it ties the head after all
};

struct WeightSpec {
  const char* name;           // the Hugging Face name; "{layer}" stands for the layer index
  Slot slot;                  // the internal tensor it fills (or the rows of it, when fused)
  std::vector<Dim> shape;     // in Hugging Face's layout
  Transform transform = Transform::none;
  When when = When::always;
};

struct FamilyLayout {
  Family family;
  // The base model's prefix ("transformer."): checkpoints of the bare base model (GPT2Model
  // rather than GPT2LMHeadModel) name the same tensors without it; the loader accepts both.
  const char* base_prefix;
  std::vector<WeightSpec> weights;
};

// The table of `family`.
const FamilyLayout& family_layout(Family family);

// Slots: whether one tensor per layer, a name for messages ("qkv_weight"), and the tensor itself
// (layer ignored for whole-model slots; undefined when the model has none).
bool is_layer_slot(Slot slot);
const char* slot_name(Slot slot);
at::Tensor& slot_tensor(ModelWeights& weights, Slot slot, int64_t layer);
const at::Tensor& slot_tensor(const ModelWeights& weights, Slot slot, int64_t layer);

// One table entry for one layer of one config: what the loader reads and the exporter writes.
struct PlannedWeight {
  const WeightSpec* spec;
  std::string name;            // "{layer}" replaced
  int64_t layer;               // -1 for whole-model tensors
  std::vector<int64_t> shape;  // in Hugging Face's layout
  int part, parts;             // this entry is part `part` of the `parts` that fill the slot
  int64_t row_begin, row_end;  // the internal tensor's rows this entry fills
};

// Every tensor a checkpoint of `config` holds, in reading order: the table's order, with all
// per-layer entries expanded layer by layer where the first of them stands. `untied_head`
// says whether the head is a tensor of its own (untied_head* entries are kept only then).
// Throws eidetic::Error when the table breaks its own rules (fused entries apart, or
// transformed).
std::vector<PlannedWeight> weight_plan(const ModelConfig& config, bool untied_head);

// A tensor in Hugging Face's layout to the internal one, and back; to_hf(to_internal(t)) == t
// bit for bit. Both keep the tensor's device and dtype and may return views of it.
at::Tensor to_internal(Transform transform, const at::Tensor& hf, const ModelConfig& config);
at::Tensor to_hf(Transform transform, const at::Tensor& internal, const ModelConfig& config);

}  // namespace eidetic::models
