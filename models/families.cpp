// models/families.cpp: the four families' weight tables, and their expansion for a config
// (see families.h).
#include "models/families.h"

#include <ATen/ATen.h>

#include <array>
#include <map>

#include "common/error.h"

namespace eidetic::models {
namespace {

constexpr Dim V = Dim::vocab, H = Dim::hidden, P = Dim::positions, I = Dim::intermediate, Q = Dim::q,
              KV = Dim::kv, QKV = Dim::qkv;
constexpr Transform T = Transform::transpose;
constexpr Transform none = Transform::none;

// GPT-2 (GPT2LMHeadModel): Conv1D projections, a learned position table, biases everywhere.
const FamilyLayout gpt2_layout = {Family::gpt2, "transformer.", {
    {"transformer.wte.weight", Slot::embed, {V, H}},
    {"transformer.wpe.weight", Slot::position_embed, {P, H}},
    {"transformer.h.{layer}.ln_1.weight", Slot::norm1_weight, {H}},
    {"transformer.h.{layer}.ln_1.bias", Slot::norm1_bias, {H}},
    {"transformer.h.{layer}.attn.c_attn.weight", Slot::qkv_weight, {H, QKV}, T},
    {"transformer.h.{layer}.attn.c_attn.bias", Slot::qkv_bias, {QKV}},
    {"transformer.h.{layer}.attn.c_proj.weight", Slot::out_weight, {Q, H}, T},
    {"transformer.h.{layer}.attn.c_proj.bias", Slot::out_bias, {H}},
    {"transformer.h.{layer}.ln_2.weight", Slot::norm2_weight, {H}},
    {"transformer.h.{layer}.ln_2.bias", Slot::norm2_bias, {H}},
    {"transformer.h.{layer}.mlp.c_fc.weight", Slot::up_weight, {H, I}, T},
    {"transformer.h.{layer}.mlp.c_fc.bias", Slot::up_bias, {I}},
    {"transformer.h.{layer}.mlp.c_proj.weight", Slot::down_weight, {I, H}, T},
    {"transformer.h.{layer}.mlp.c_proj.bias", Slot::down_bias, {H}},
    {"transformer.ln_f.weight", Slot::final_norm_weight, {H}},
    {"transformer.ln_f.bias", Slot::final_norm_bias, {H}},
    {"lm_head.weight", Slot::lm_head, {V, H}, none, When::untied_head_if_present},
}};

// GPT-Neo (GPTNeoForCausalLM): Linear q, k, v without biases, fused here.
const FamilyLayout gpt_neo_layout = {Family::gpt_neo, "transformer.", {
    {"transformer.wte.weight", Slot::embed, {V, H}},
    {"transformer.wpe.weight", Slot::position_embed, {P, H}},
    {"transformer.h.{layer}.ln_1.weight", Slot::norm1_weight, {H}},
    {"transformer.h.{layer}.ln_1.bias", Slot::norm1_bias, {H}},
    {"transformer.h.{layer}.attn.attention.q_proj.weight", Slot::qkv_weight, {Q, H}},
    {"transformer.h.{layer}.attn.attention.k_proj.weight", Slot::qkv_weight, {KV, H}},
    {"transformer.h.{layer}.attn.attention.v_proj.weight", Slot::qkv_weight, {KV, H}},
    {"transformer.h.{layer}.attn.attention.out_proj.weight", Slot::out_weight, {H, Q}},
    {"transformer.h.{layer}.attn.attention.out_proj.bias", Slot::out_bias, {H}},
    {"transformer.h.{layer}.ln_2.weight", Slot::norm2_weight, {H}},
    {"transformer.h.{layer}.ln_2.bias", Slot::norm2_bias, {H}},
    {"transformer.h.{layer}.mlp.c_fc.weight", Slot::up_weight, {I, H}},
    {"transformer.h.{layer}.mlp.c_fc.bias", Slot::up_bias, {I}},
    {"transformer.h.{layer}.mlp.c_proj.weight", Slot::down_weight, {H, I}},
    {"transformer.h.{layer}.mlp.c_proj.bias", Slot::down_bias, {H}},
    {"transformer.ln_f.weight", Slot::final_norm_weight, {H}},
    {"transformer.ln_f.bias", Slot::final_norm_bias, {H}},
    {"lm_head.weight", Slot::lm_head, {V, H}, none, When::untied_head_if_present},
}};

// GPT-NeoX / Pythia (GPTNeoXForCausalLM): one per-head interleaved q/k/v projection; the head
// is `embed_out`.
const FamilyLayout gpt_neox_layout = {Family::gpt_neox, "gpt_neox.", {
    {"gpt_neox.embed_in.weight", Slot::embed, {V, H}},
    {"gpt_neox.layers.{layer}.input_layernorm.weight", Slot::norm1_weight, {H}},
    {"gpt_neox.layers.{layer}.input_layernorm.bias", Slot::norm1_bias, {H}},
    {"gpt_neox.layers.{layer}.attention.query_key_value.weight", Slot::qkv_weight, {QKV, H}, Transform::neox_qkv},
    {"gpt_neox.layers.{layer}.attention.query_key_value.bias", Slot::qkv_bias, {QKV}, Transform::neox_qkv,
     When::qkv_bias},
    {"gpt_neox.layers.{layer}.attention.dense.weight", Slot::out_weight, {H, Q}},
    {"gpt_neox.layers.{layer}.attention.dense.bias", Slot::out_bias, {H}, none, When::out_bias},
    {"gpt_neox.layers.{layer}.post_attention_layernorm.weight", Slot::norm2_weight, {H}},
    {"gpt_neox.layers.{layer}.post_attention_layernorm.bias", Slot::norm2_bias, {H}},
    {"gpt_neox.layers.{layer}.mlp.dense_h_to_4h.weight", Slot::up_weight, {I, H}},
    {"gpt_neox.layers.{layer}.mlp.dense_h_to_4h.bias", Slot::up_bias, {I}},
    {"gpt_neox.layers.{layer}.mlp.dense_4h_to_h.weight", Slot::down_weight, {H, I}},
    {"gpt_neox.layers.{layer}.mlp.dense_4h_to_h.bias", Slot::down_bias, {H}},
    {"gpt_neox.final_layer_norm.weight", Slot::final_norm_weight, {H}},
    {"gpt_neox.final_layer_norm.bias", Slot::final_norm_bias, {H}},
    {"embed_out.weight", Slot::lm_head, {V, H}, none, When::untied_head},
}};

// Llama (LlamaForCausalLM): grouped-query q, k, v and the gated MLP's gate and up, each fused
// here; RMSNorm without biases; optional projection biases.
const FamilyLayout llama_layout = {Family::llama, "model.", {
    {"model.embed_tokens.weight", Slot::embed, {V, H}},
    {"model.layers.{layer}.input_layernorm.weight", Slot::norm1_weight, {H}},
    {"model.layers.{layer}.self_attn.q_proj.weight", Slot::qkv_weight, {Q, H}},
    {"model.layers.{layer}.self_attn.k_proj.weight", Slot::qkv_weight, {KV, H}},
    {"model.layers.{layer}.self_attn.v_proj.weight", Slot::qkv_weight, {KV, H}},
    {"model.layers.{layer}.self_attn.q_proj.bias", Slot::qkv_bias, {Q}, none, When::qkv_bias},
    {"model.layers.{layer}.self_attn.k_proj.bias", Slot::qkv_bias, {KV}, none, When::qkv_bias},
    {"model.layers.{layer}.self_attn.v_proj.bias", Slot::qkv_bias, {KV}, none, When::qkv_bias},
    {"model.layers.{layer}.self_attn.o_proj.weight", Slot::out_weight, {H, Q}},
    {"model.layers.{layer}.self_attn.o_proj.bias", Slot::out_bias, {H}, none, When::out_bias},
    {"model.layers.{layer}.post_attention_layernorm.weight", Slot::norm2_weight, {H}},
    {"model.layers.{layer}.mlp.gate_proj.weight", Slot::up_weight, {I, H}},
    {"model.layers.{layer}.mlp.up_proj.weight", Slot::up_weight, {I, H}},
    {"model.layers.{layer}.mlp.gate_proj.bias", Slot::up_bias, {I}, none, When::mlp_bias},
    {"model.layers.{layer}.mlp.up_proj.bias", Slot::up_bias, {I}, none, When::mlp_bias},
    {"model.layers.{layer}.mlp.down_proj.weight", Slot::down_weight, {H, I}},
    {"model.layers.{layer}.mlp.down_proj.bias", Slot::down_bias, {H}, none, When::mlp_bias},
    {"model.norm.weight", Slot::final_norm_weight, {H}},
    {"lm_head.weight", Slot::lm_head, {V, H}, none, When::untied_head},
}};

// Slot -> where it lives, in the enum's order.
struct SlotInfo {
  const char* name;
  at::Tensor ModelWeights::*model;  // whole-model slots
  at::Tensor LayerWeights::*layer;  // per-layer slots
};
constexpr std::array<SlotInfo, 17> slots = {{
    {"embed", &ModelWeights::embed, nullptr},
    {"position_embed", &ModelWeights::position_embed, nullptr},
    {"final_norm_weight", &ModelWeights::final_norm_weight, nullptr},
    {"final_norm_bias", &ModelWeights::final_norm_bias, nullptr},
    {"lm_head", &ModelWeights::lm_head, nullptr},
    {"norm1_weight", nullptr, &LayerWeights::norm1_weight},
    {"norm1_bias", nullptr, &LayerWeights::norm1_bias},
    {"qkv_weight", nullptr, &LayerWeights::qkv_weight},
    {"qkv_bias", nullptr, &LayerWeights::qkv_bias},
    {"out_weight", nullptr, &LayerWeights::out_weight},
    {"out_bias", nullptr, &LayerWeights::out_bias},
    {"norm2_weight", nullptr, &LayerWeights::norm2_weight},
    {"norm2_bias", nullptr, &LayerWeights::norm2_bias},
    {"up_weight", nullptr, &LayerWeights::up_weight},
    {"up_bias", nullptr, &LayerWeights::up_bias},
    {"down_weight", nullptr, &LayerWeights::down_weight},
    {"down_bias", nullptr, &LayerWeights::down_bias},
}};
static_assert(static_cast<size_t>(Slot::down_bias) + 1 == slots.size(), "one SlotInfo per Slot, in order");

const SlotInfo& info(Slot s) { return slots[static_cast<size_t>(s)]; }

int64_t size_of(Dim d, const ModelConfig& c) {
  switch (d) {
    case Dim::vocab: return c.vocab_size;
    case Dim::hidden: return c.hidden_size;
    case Dim::positions: return c.max_positions;
    case Dim::intermediate: return c.intermediate_size;
    case Dim::q: return c.num_heads * c.head_dim;
    case Dim::kv: return c.num_kv_heads * c.head_dim;
    case Dim::qkv: return (c.num_heads + 2 * c.num_kv_heads) * c.head_dim;
  }
  return 0;
}

bool holds(When when, const ModelConfig& c, bool untied_head) {
  switch (when) {
    case When::always: return true;
    case When::qkv_bias: return c.qkv_bias;
    case When::out_bias: return c.out_bias;
    case When::mlp_bias: return c.mlp_bias;
    case When::untied_head:
    case When::untied_head_if_present: return untied_head;
  }
  return false;
}

// Rows grouped as [outer][inner][head_dim][...] regrouped as [inner][outer][head_dim][...]:
// (heads, 3) turns NeoX's per-head [q_h; k_h; v_h] into [all q; all k; all v], (3, heads) back.
at::Tensor regroup_rows(const at::Tensor& t, int64_t outer, int64_t inner, int64_t head_dim) {
  std::vector<int64_t> split = {outer, inner, head_dim};
  split.insert(split.end(), t.sizes().begin() + 1, t.sizes().end());
  return t.reshape(split).transpose(0, 1).reshape(t.sizes());
}

// The heads of NeoX's interleaved projection, which has no grouped-query form.
int64_t neox_heads(const ModelConfig& c) {
  if (c.num_kv_heads != c.num_heads)
    throw Error("GPT-NeoX's interleaved q/k/v needs as many key/value heads as query heads, got " +
                std::to_string(c.num_kv_heads) + " and " + std::to_string(c.num_heads));
  return c.num_heads;
}

std::string with_layer(const std::string& name, int64_t layer) {
  const std::string mark = "{layer}";
  const size_t at = name.find(mark);
  if (at == std::string::npos) return name;
  return name.substr(0, at) + std::to_string(layer) + name.substr(at + mark.size());
}

}  // namespace

const FamilyLayout& family_layout(Family family) {
  switch (family) {
    case Family::gpt2: return gpt2_layout;
    case Family::gpt_neo: return gpt_neo_layout;
    case Family::gpt_neox: return gpt_neox_layout;
    case Family::llama: return llama_layout;
  }
  throw Error("no weight table for family " + std::to_string(static_cast<int>(family)));
}

bool is_layer_slot(Slot slot) { return info(slot).layer != nullptr; }

const char* slot_name(Slot slot) { return info(slot).name; }

at::Tensor& slot_tensor(ModelWeights& w, Slot slot, int64_t layer) {
  const SlotInfo& s = info(slot);
  return s.model ? w.*s.model : w.layers.at(static_cast<size_t>(layer)).*s.layer;
}

const at::Tensor& slot_tensor(const ModelWeights& w, Slot slot, int64_t layer) {
  const SlotInfo& s = info(slot);
  return s.model ? w.*s.model : w.layers.at(static_cast<size_t>(layer)).*s.layer;
}

std::vector<PlannedWeight> weight_plan(const ModelConfig& c, bool untied_head) {
  const FamilyLayout& layout = family_layout(c.family);
  // The entries this config has, each with its rows of its slot.
  std::vector<PlannedWeight> kept;
  std::map<Slot, std::pair<int, int64_t>> filled;  // slot -> entries so far, rows so far
  for (const WeightSpec& spec : layout.weights) {
    if (!holds(spec.when, c, untied_head)) continue;
    PlannedWeight p{&spec, spec.name, -1, {}, 0, 1, 0, 0};
    for (Dim d : spec.shape) p.shape.push_back(size_of(d, c));
    auto& [count, rows] = filled[spec.slot];
    if (count > 0 && kept.back().spec->slot != spec.slot)
      throw Error(std::string("weight table of ") + family_name(c.family) + ": '" + spec.name +
                  "' does not stand beside the other entries filling " + slot_name(spec.slot));
    p.part = count++;
    p.row_begin = rows;
    rows += p.shape.front();
    p.row_end = rows;
    kept.push_back(std::move(p));
  }
  for (PlannedWeight& p : kept) {
    p.parts = filled[p.spec->slot].first;
    if (p.parts > 1 && p.spec->transform != Transform::none)
      throw Error(std::string("weight table of ") + family_name(c.family) + ": '" + p.spec->name +
                  "' is one of several filling " + slot_name(p.spec->slot) + " and cannot be transformed");
  }
  // Whole-model entries once; the per-layer block once per layer where its first entry stands.
  std::vector<PlannedWeight> plan;
  bool layers_done = false;
  for (const PlannedWeight& p : kept) {
    if (!is_layer_slot(p.spec->slot)) {
      plan.push_back(p);
      continue;
    }
    if (layers_done) continue;
    layers_done = true;
    for (int64_t i = 0; i < c.num_layers; ++i)
      for (const PlannedWeight& q : kept) {
        if (!is_layer_slot(q.spec->slot)) continue;
        plan.push_back(q);
        plan.back().name = with_layer(q.spec->name, i);
        plan.back().layer = i;
      }
  }
  return plan;
}

at::Tensor to_internal(Transform transform, const at::Tensor& hf, const ModelConfig& c) {
  switch (transform) {
    case Transform::none: return hf;
    case Transform::transpose: return hf.t();
    case Transform::neox_qkv: return regroup_rows(hf, neox_heads(c), 3, c.head_dim);
  }
  return hf;
}

at::Tensor to_hf(Transform transform, const at::Tensor& internal, const ModelConfig& c) {
  switch (transform) {
    case Transform::none: return internal;
    case Transform::transpose: return internal.t();
    case Transform::neox_qkv: return regroup_rows(internal, 3, neox_heads(c), c.head_dim);
  }
  return internal;
}

}  // namespace eidetic::models
