// models/model.cpp: the decoder's forward pass, and weight loading through the family's table
// (models/families.h).
#include "models/model.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"
#include "models/families.h"
#include "common/gguf_file.h"
#include "models/gguf.h"
#include "models/llama2c.h"

namespace eidetic::models {
namespace {

// Half of the head's rotated dimensions swapped and negated: (x1, x2) -> (-x2, x1).
at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

// Applies rotary embeddings to the first cos.size(-1) dims of x (B, heads, T, D).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t r = cos.size(-1);
  if (r == x.size(-1)) return x * cos + rotate_half(x) * sin;
  const at::Tensor rot = x.slice(-1, 0, r);
  return at::cat({rot * cos + rotate_half(rot) * sin, x.slice(-1, r)}, -1);
}

}  // namespace

Model::Model(ModelConfig config, ModelWeights weights, at::Device device, at::ScalarType dtype)
    : config_(std::move(config)), weights_(std::move(weights)), device_(device), dtype_(dtype) {
  if (config_.positions == PositionKind::rotary) {
    // inv_freq and the angle table in float32, as the reference computes them.
    const int64_t r = config_.rotary_dim;
    const at::Tensor exponent =
        at::arange(0, r, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(r);
    const at::Tensor inv_freq = 1.0 / at::pow(config_.rope_theta, exponent);
    const at::Tensor pos = at::arange(config_.max_positions, at::TensorOptions().dtype(at::kLong)).to(at::kFloat);
    const at::Tensor freqs = at::outer(pos, inv_freq);
    const at::Tensor emb = at::cat({freqs, freqs}, -1);
    rope_cos_ = emb.cos().to(device_);
    rope_sin_ = emb.sin().to(device_);
  }
}

KVCache Model::new_cache(int64_t batch, int64_t capacity) const {
  KVCache c;
  const auto opts = at::TensorOptions().device(device_).dtype(dtype_);
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    c.keys.push_back(at::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
    c.values.push_back(at::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
  }
  c.key_valid = at::zeros({batch, capacity}, opts.dtype(at::kBool));
  c.next_position = at::zeros({batch}, opts.dtype(at::kLong));
  c.capacity = capacity;
  return c;
}

at::Tensor Model::norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
  if (config_.norm == Norm::layer_norm)
    return at::layer_norm(x, {x.size(-1)}, w, b, config_.norm_eps);
  // RMSNorm in float32, scaled by the weight in the model's dtype (the reference's order).
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + config_.norm_eps);
  return w * normed.to(x.scalar_type());
}

at::Tensor Model::mlp(const LayerWeights& l, const at::Tensor& x) const {
  at::Tensor h = at::linear(x, l.up_weight, l.up_bias);
  auto act = [&](const at::Tensor& t) {
    switch (config_.activation) {
      case Activation::gelu_exact: return at::gelu(t);
      case Activation::gelu_tanh: return at::gelu(t, "tanh");
      case Activation::silu: return at::silu(t);
      case Activation::relu: return at::relu(t);
    }
    return t;
  };
  if (config_.gated_mlp) {
    const auto parts = h.chunk(2, -1);
    h = act(parts[0]) * parts[1];
  } else {
    h = act(h);
  }
  return at::linear(h, l.down_weight, l.down_bias);
}

at::Tensor Model::forward(const at::Tensor& ids_in, const at::Tensor& mask_in, KVCache* cache) const {
  const ModelConfig& c = config_;
  const at::Tensor ids = ids_in.to(device_, at::kLong);
  const int64_t B = ids.size(0), T = ids.size(1);
  const at::Tensor mask = mask_in.defined() ? mask_in.to(device_, at::kBool)
                                            : at::ones({B, T}, ids.options().dtype(at::kBool));
  const int64_t offset = cache ? cache->length : 0;
  const int64_t L = offset + T;
  if (cache && L > cache->capacity)
    throw Error("kv cache holds " + std::to_string(cache->capacity) + " tokens; " +
                std::to_string(L) + " were asked for");
  const at::Tensor vmax = ids.max();
  if (ids.numel() > 0 && (vmax.item<int64_t>() >= c.vocab_size || ids.min().item<int64_t>() < 0))
    throw Error("token id " + std::to_string(vmax.item<int64_t>() >= c.vocab_size ? vmax.item<int64_t>()
                                                                                  : ids.min().item<int64_t>()) +
                " is outside the vocabulary of " + std::to_string(c.vocab_size));

  // Positions count real tokens only; padding gets position 0 (it is never attended to).
  at::Tensor positions = at::cumsum(mask.to(at::kLong), 1) - 1;
  if (cache) positions = positions + cache->next_position.unsqueeze(1);
  positions = positions.clamp_min(0);
  if (positions.numel() > 0 && positions.max().item<int64_t>() >= c.max_positions)
    throw Error("sequence of " + std::to_string(positions.max().item<int64_t>() + 1) +
                " positions exceeds the model's maximum of " + std::to_string(c.max_positions));

  // Which keys each query may see: (B, 1, T, L).
  at::Tensor key_valid;
  if (cache) {
    cache->key_valid.slice(1, offset, L).copy_(mask);
    key_valid = cache->key_valid.slice(1, 0, L);
  } else {
    key_valid = mask;
  }
  const auto lopts = ids.options();
  const at::Tensor q_slot = at::arange(offset, L, lopts).view({T, 1});
  const at::Tensor k_slot = at::arange(0, L, lopts).view({1, L});
  const at::Tensor causal = k_slot <= q_slot;                       // (T, L)
  const at::Tensor self = k_slot == q_slot;                         // a padded query sees itself
  const at::Tensor allowed = (causal.unsqueeze(0) & key_valid.unsqueeze(1)) | self.unsqueeze(0);
  at::Tensor local_allowed;
  if (!c.local_layers.empty())
    local_allowed = allowed & ((q_slot - k_slot) < c.window_size).unsqueeze(0);

  at::Tensor x = at::embedding(weights_.embed, ids);
  if (c.positions == PositionKind::learned) x = x + at::embedding(weights_.position_embed, positions);
  at::Tensor cos, sin;
  if (c.positions == PositionKind::rotary) {
    cos = at::embedding(rope_cos_, positions).unsqueeze(1).to(dtype_);  // (B, 1, T, r)
    sin = at::embedding(rope_sin_, positions).unsqueeze(1).to(dtype_);
  }

  const at::Tensor attn_mask = allowed.unsqueeze(1);
  const at::Tensor local_mask = local_allowed.defined() ? local_allowed.unsqueeze(1) : at::Tensor();
  for (int64_t li = 0; li < c.num_layers; ++li) {
    const at::Tensor attn_out = attention_block(li, x, cos, sin, attn_mask, local_mask, [&](at::Tensor k, at::Tensor v) {
      if (!cache) return std::make_pair(k, v);
      cache->keys[li].slice(2, offset, L).copy_(k);
      cache->values[li].slice(2, offset, L).copy_(v);
      return std::make_pair(cache->keys[li].slice(2, 0, L), cache->values[li].slice(2, 0, L));
    });
    x = residual_block(li, x, attn_out);
  }
  if (cache) {
    cache->length = L;
    cache->next_position = cache->next_position + mask.to(at::kLong).sum(1);
  }
  return norm(x, weights_.final_norm_weight, weights_.final_norm_bias);
}

at::Tensor Model::attention_block(
    int64_t li, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& attn_mask,
    const at::Tensor& local_mask,
    const std::function<std::pair<at::Tensor, at::Tensor>(at::Tensor, at::Tensor)>& store) const {
  const ModelConfig& c = config_;
  const LayerWeights& l = weights_.layers[li];
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t Hq = c.num_heads, Hkv = c.num_kv_heads, D = c.head_dim;
  const double scale = c.scale_attention ? 1.0 / std::sqrt(static_cast<double>(D)) : 1.0;
  const at::Tensor h = norm(x, l.norm1_weight, l.norm1_bias);
  const at::Tensor qkv = at::linear(h, l.qkv_weight, l.qkv_bias);
  at::Tensor q = qkv.slice(-1, 0, Hq * D).view({B, T, Hq, D}).transpose(1, 2);
  at::Tensor k = qkv.slice(-1, Hq * D, (Hq + Hkv) * D).view({B, T, Hkv, D}).transpose(1, 2);
  at::Tensor v = qkv.slice(-1, (Hq + Hkv) * D).view({B, T, Hkv, D}).transpose(1, 2);
  if (c.positions == PositionKind::rotary) {
    q = apply_rotary(q, cos, sin);
    k = apply_rotary(k, cos, sin);
  }
  std::tie(k, v) = store(k, v);
  const bool local = !c.local_layers.empty() && c.local_layers[li];
  const at::Tensor& mask = local ? local_mask : attn_mask;
  at::Tensor attn;
  if (c.attention_in_fp32) {
    attn = at::scaled_dot_product_attention(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), mask, 0.0, false,
                                            scale, Hq != Hkv)
               .to(dtype_);
  } else {
    attn = at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale, Hq != Hkv);
  }
  attn = attn.transpose(1, 2).reshape({B, T, Hq * D});
  return at::linear(attn, l.out_weight, l.out_bias);
}

at::Tensor Model::residual_block(int64_t li, const at::Tensor& x, const at::Tensor& attn_out) const {
  const LayerWeights& l = weights_.layers[li];
  if (config_.parallel_residual) return x + attn_out + mlp(l, norm(x, l.norm2_weight, l.norm2_bias));
  const at::Tensor y = x + attn_out;
  return y + mlp(l, norm(y, l.norm2_weight, l.norm2_bias));
}

at::Tensor Model::decode_step(const at::Tensor& ids, const at::Tensor& slot, KVCache& cache) const {
  const ModelConfig& c = config_;
  const int64_t C = cache.capacity;
  const at::Tensor positions = cache.next_position;  // (B)
  at::Tensor x = at::embedding(weights_.embed, ids).unsqueeze(1);  // (B, 1, H)
  if (c.positions == PositionKind::learned)
    x = x + at::embedding(weights_.position_embed, positions.clamp_max(c.max_positions - 1)).unsqueeze(1);
  at::Tensor cos, sin;
  if (c.positions == PositionKind::rotary) {
    const at::Tensor p = positions.clamp_max(c.max_positions - 1);
    cos = at::embedding(rope_cos_, p).unsqueeze(1).unsqueeze(1).to(dtype_);  // (B, 1, 1, r)
    sin = at::embedding(rope_sin_, p).unsqueeze(1).unsqueeze(1).to(dtype_);
  }
  cache.key_valid.index_fill_(1, slot, true);
  const at::Tensor k_slot = at::arange(C, slot.options());                    // (C)
  const at::Tensor visible = cache.key_valid & (k_slot <= slot).unsqueeze(0);  // (B, C)
  const at::Tensor attn_mask = visible.view({-1, 1, 1, C});
  at::Tensor local_mask;
  if (!c.local_layers.empty())
    local_mask = (visible & ((slot - k_slot) < c.window_size).unsqueeze(0)).view({-1, 1, 1, C});
  for (int64_t li = 0; li < c.num_layers; ++li) {
    const at::Tensor attn_out = attention_block(li, x, cos, sin, attn_mask, local_mask, [&](at::Tensor k, at::Tensor v) {
      cache.keys[li].index_copy_(2, slot, k);
      cache.values[li].index_copy_(2, slot, v);
      return std::make_pair(cache.keys[li], cache.values[li]);
    });
    x = residual_block(li, x, attn_out);
  }
  cache.next_position.add_(1);
  return norm(x, weights_.final_norm_weight, weights_.final_norm_bias).squeeze(1);
}

at::Tensor Model::logits(const at::Tensor& hidden) const {
  return at::linear(hidden, weights_.lm_head).to(at::kFloat);
}

at::Tensor Model::logits_native(const at::Tensor& hidden) const { return at::linear(hidden, weights_.lm_head); }

int64_t Model::weight_bytes() const {
  int64_t n = 0;
  for (const at::Tensor& t : parameters()) n += t.numel();
  return n * static_cast<int64_t>(c10::elementSize(dtype_));
}

// ---- loading --------------------------------------------------------------------------------

namespace {

// Reads checkpoint tensors by Hugging Face name, also without the base model's prefix (a bare
// GPT2Model checkpoint says `h.0.ln_1.weight` for `transformer.h.0.ln_1.weight`).
class WeightReader {
 public:
  WeightReader(const TensorSet& set, std::string where, std::string base_prefix)
      : set_(set), where_(std::move(where)), base_prefix_(std::move(base_prefix)) {}

  // The tensor `name` (or its unprefixed form), checked against `shape`, as stored.
  at::Tensor raw(const std::string& name, at::IntArrayRef shape) const {
    const std::string* found = find(name);
    if (!found) throw Error(where_ + ": tensor '" + name + "' is missing");
    const at::Tensor& t = set_.tensors.at(*found);
    if (!t.sizes().equals(shape))
      throw Error(set_.source.at(*found) + ": tensor '" + *found + "' has shape " + c10::str(t.sizes()) +
                  ", config says " + c10::str(shape));
    if (!at::isFloatingType(t.scalar_type()))
      throw Error(set_.source.at(*found) + ": tensor '" + *found + "' has dtype " + c10::toString(t.scalar_type()) +
                  ", expected a floating-point type");
    return t;
  }
  bool has(const std::string& name) const { return find(name) != nullptr; }

 private:
  // The name the set holds `name` under, or null.
  const std::string* find(const std::string& name) const {
    const auto it = set_.tensors.find(name);
    if (it != set_.tensors.end()) return &it->first;
    if (name.rfind(base_prefix_, 0) != 0) return nullptr;
    const auto bare = set_.tensors.find(name.substr(base_prefix_.size()));
    return bare != set_.tensors.end() ? &bare->first : nullptr;
  }

  const TensorSet& set_;
  std::string where_;
  std::string base_prefix_;
};

}  // namespace

Model build_model(const ModelConfig& c, const TensorSet& set, const std::string& where,
                  at::Device device, at::ScalarType dtype) {
  c.validate(where);
  const WeightReader r(set, where, family_layout(c.family).base_prefix);
  ModelWeights w;
  w.layers.resize(static_cast<size_t>(c.num_layers));
  std::vector<at::Tensor> pieces;  // of the internal tensor being filled, in row order
  for (const PlannedWeight& p : weight_plan(c, !c.tied_embeddings)) {
    if (p.spec->when == When::untied_head_if_present && !r.has(p.name)) continue;  // tied after all
    pieces.push_back(to_internal(p.spec->transform, r.raw(p.name, p.shape), c));
    if (p.part + 1 < p.parts) continue;
    const at::Tensor whole = pieces.size() == 1 ? pieces.front() : at::cat(pieces);
    slot_tensor(w, p.spec->slot, p.layer) = whole.to(device, dtype).contiguous();
    pieces.clear();
  }
  if (!w.lm_head.defined()) w.lm_head = w.embed;
  return Model(c, std::move(w), device, dtype);
}

Model load_model(const std::filesystem::path& path, at::Device device, at::ScalarType dtype) {
  if (!std::filesystem::exists(path)) throw Error(path.string() + ": model not found");
  if (std::filesystem::is_directory(path)) {
    const auto config_path = path / "config.json";
    if (!std::filesystem::exists(config_path))
      throw Error(path.string() + ": no config.json in the model folder");
    const ModelConfig config = parse_hf_config(config_path);
    const TensorSet tensors = read_safetensors_folder(path);
    return build_model(config, tensors, path.string(), device, dtype);
  }
  if (path.extension() == ".safetensors") {
    const auto folder = path.parent_path();
    const ModelConfig config = parse_hf_config(folder / "config.json");
    return build_model(config, read_safetensors(path), path.string(), device, dtype);
  }
  if (gguf::is_gguf(path)) {
    const GgufCheckpoint ck = read_gguf_checkpoint(path, device, dtype);
    return build_model(ck.config, ck.tensors, path.string(), device, dtype);
  }
  const Llama2cCheckpoint ck = read_llama2c_checkpoint(path);
  return build_model(ck.config, ck.tensors, path.string(), device, dtype);
}

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return at::kFloat;
  if (name == "fp16" || name == "float16") return at::kHalf;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  throw Error("unknown dtype '" + name + "' (expected fp32, fp16 or bf16)");
}

at::Device parse_device(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    at::Device d(name);
    if (!at::hasCUDA()) throw Error("device '" + name + "' was asked for, but no CUDA device is usable");
    return d;
  }
  throw Error("unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
}

}  // namespace eidetic::models
