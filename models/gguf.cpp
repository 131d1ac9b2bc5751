// models/gguf.cpp: see gguf.h. Key and tensor names are those of gguf-py's constants.py and
// llama.cpp's llama-arch.cpp; the layout transforms invert convert_hf_to_gguf.py's.
#include "models/gguf.h"

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/gguf_file.h"
#include "kernels/dequant.h"
#include "kernels/torch_ops.h"

namespace eidetic::models {
namespace {

enum class Layout { plain, rotary_pairs, transpose, neox_qkv };

// One GGUF tensor and the Hugging Face tensor it becomes.
struct Mapping {
  const char* gguf;  // with {layer} for the block index
  const char* hf;
  Layout layout = Layout::plain;
  bool required = true;
};

std::string expand(const char* pattern, int64_t layer) {
  std::string s = pattern;
  const auto at = s.find("{layer}");
  if (at != std::string::npos) s.replace(at, 7, std::to_string(layer));
  return s;
}

// The architectures' tensors. A weight's bias is optional: the config's switches follow from
// which are present.
const std::vector<Mapping>& llama_tensors() {
  static const std::vector<Mapping> m = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight", Layout::plain, false},
      {"blk.{layer}.attn_norm.weight", "model.layers.{layer}.input_layernorm.weight"},
      {"blk.{layer}.attn_q.weight", "model.layers.{layer}.self_attn.q_proj.weight", Layout::rotary_pairs},
      {"blk.{layer}.attn_k.weight", "model.layers.{layer}.self_attn.k_proj.weight", Layout::rotary_pairs},
      {"blk.{layer}.attn_v.weight", "model.layers.{layer}.self_attn.v_proj.weight"},
      {"blk.{layer}.attn_q.bias", "model.layers.{layer}.self_attn.q_proj.bias", Layout::rotary_pairs, false},
      {"blk.{layer}.attn_k.bias", "model.layers.{layer}.self_attn.k_proj.bias", Layout::rotary_pairs, false},
      {"blk.{layer}.attn_v.bias", "model.layers.{layer}.self_attn.v_proj.bias", Layout::plain, false},
      {"blk.{layer}.attn_output.weight", "model.layers.{layer}.self_attn.o_proj.weight"},
      {"blk.{layer}.attn_output.bias", "model.layers.{layer}.self_attn.o_proj.bias", Layout::plain, false},
      {"blk.{layer}.ffn_norm.weight", "model.layers.{layer}.post_attention_layernorm.weight"},
      {"blk.{layer}.ffn_gate.weight", "model.layers.{layer}.mlp.gate_proj.weight"},
      {"blk.{layer}.ffn_up.weight", "model.layers.{layer}.mlp.up_proj.weight"},
      {"blk.{layer}.ffn_down.weight", "model.layers.{layer}.mlp.down_proj.weight"},
      {"blk.{layer}.ffn_gate.bias", "model.layers.{layer}.mlp.gate_proj.bias", Layout::plain, false},
      {"blk.{layer}.ffn_up.bias", "model.layers.{layer}.mlp.up_proj.bias", Layout::plain, false},
      {"blk.{layer}.ffn_down.bias", "model.layers.{layer}.mlp.down_proj.bias", Layout::plain, false},
  };
  return m;
}

const std::vector<Mapping>& gpt2_tensors() {
  static const std::vector<Mapping> m = {
      {"token_embd.weight", "transformer.wte.weight"},
      {"position_embd.weight", "transformer.wpe.weight"},
      {"output_norm.weight", "transformer.ln_f.weight"},
      {"output_norm.bias", "transformer.ln_f.bias"},
      {"output.weight", "lm_head.weight", Layout::plain, false},
      {"blk.{layer}.attn_norm.weight", "transformer.h.{layer}.ln_1.weight"},
      {"blk.{layer}.attn_norm.bias", "transformer.h.{layer}.ln_1.bias"},
      {"blk.{layer}.attn_qkv.weight", "transformer.h.{layer}.attn.c_attn.weight", Layout::transpose},
      {"blk.{layer}.attn_qkv.bias", "transformer.h.{layer}.attn.c_attn.bias"},
      {"blk.{layer}.attn_output.weight", "transformer.h.{layer}.attn.c_proj.weight", Layout::transpose},
      {"blk.{layer}.attn_output.bias", "transformer.h.{layer}.attn.c_proj.bias"},
      {"blk.{layer}.ffn_norm.weight", "transformer.h.{layer}.ln_2.weight"},
      {"blk.{layer}.ffn_norm.bias", "transformer.h.{layer}.ln_2.bias"},
      {"blk.{layer}.ffn_up.weight", "transformer.h.{layer}.mlp.c_fc.weight", Layout::transpose},
      {"blk.{layer}.ffn_up.bias", "transformer.h.{layer}.mlp.c_fc.bias"},
      {"blk.{layer}.ffn_down.weight", "transformer.h.{layer}.mlp.c_proj.weight", Layout::transpose},
      {"blk.{layer}.ffn_down.bias", "transformer.h.{layer}.mlp.c_proj.bias"},
  };
  return m;
}

const std::vector<Mapping>& gptneox_tensors() {
  static const std::vector<Mapping> m = {
      {"token_embd.weight", "gpt_neox.embed_in.weight"},
      {"output_norm.weight", "gpt_neox.final_layer_norm.weight"},
      {"output_norm.bias", "gpt_neox.final_layer_norm.bias"},
      {"output.weight", "embed_out.weight"},
      {"blk.{layer}.attn_norm.weight", "gpt_neox.layers.{layer}.input_layernorm.weight"},
      {"blk.{layer}.attn_norm.bias", "gpt_neox.layers.{layer}.input_layernorm.bias"},
      {"blk.{layer}.attn_qkv.weight", "gpt_neox.layers.{layer}.attention.query_key_value.weight", Layout::neox_qkv},
      {"blk.{layer}.attn_qkv.bias", "gpt_neox.layers.{layer}.attention.query_key_value.bias", Layout::neox_qkv, false},
      {"blk.{layer}.attn_output.weight", "gpt_neox.layers.{layer}.attention.dense.weight"},
      {"blk.{layer}.attn_output.bias", "gpt_neox.layers.{layer}.attention.dense.bias", Layout::plain, false},
      {"blk.{layer}.ffn_norm.weight", "gpt_neox.layers.{layer}.post_attention_layernorm.weight"},
      {"blk.{layer}.ffn_norm.bias", "gpt_neox.layers.{layer}.post_attention_layernorm.bias"},
      {"blk.{layer}.ffn_up.weight", "gpt_neox.layers.{layer}.mlp.dense_h_to_4h.weight"},
      {"blk.{layer}.ffn_up.bias", "gpt_neox.layers.{layer}.mlp.dense_h_to_4h.bias"},
      {"blk.{layer}.ffn_down.weight", "gpt_neox.layers.{layer}.mlp.dense_4h_to_h.weight"},
      {"blk.{layer}.ffn_down.bias", "gpt_neox.layers.{layer}.mlp.dense_4h_to_h.bias"},
  };
  return m;
}

std::string supported_types() {
  std::string s;
  for (int32_t id = 0; id < 64; ++id)
    if (const auto* info = kernels::ggml_type_info(id)) s += (s.empty() ? "" : ", ") + std::string(info->name);
  return s;
}

class Reader {
 public:
  Reader(const gguf::File& f, at::Device device) : f_(f), device_(device) {}

  const gguf::TensorInfo& info(const std::string& name) const {
    const gguf::TensorInfo* t = f_.tensor(name);
    if (!t) throw Error(f_.name() + ": tensor '" + name + "' is missing");
    return *t;
  }

  // The tensor as float32 values in its row-major shape, on the target device.
  at::Tensor values(const gguf::TensorInfo& t) const {
    const auto* type = kernels::ggml_type_info(t.type);
    if (!type) {
      const gguf::TypeLayout* layout = gguf::type_layout(t.type);
      throw Error(f_.name() + ": tensor '" + t.name + "' is of type " + (layout ? layout->name : "?") +
                  ", which Eidetic cannot dequantize (it reads " + supported_types() + ")");
    }
    const at::Tensor bytes = at::from_blob(const_cast<uint8_t*>(f_.tensor_data(t)), {static_cast<int64_t>(t.bytes)},
                                           at::TensorOptions().dtype(at::kByte));
    at::Tensor v = ops::dequantize(device_.is_cpu() ? bytes : bytes.to(device_), type->type);
    return v.view(t.shape());
  }

  // dims[0] (the innermost) of a tensor, for sizes the metadata may leave out.
  int64_t inner(const std::string& name) const { return info(name).dims[0]; }
  int64_t outer(const std::string& name) const {
    const auto& d = info(name).dims;
    return d.size() > 1 ? d[1] : 1;
  }

 private:
  const gguf::File& f_;
  at::Device device_;
};

// HF from GGUF for llama's q/k rows: GGUF row h*D + 2i + s holds HF row h*D + s*D/2 + i.
at::Tensor unpermute_rotary(const at::Tensor& w, int64_t heads, const std::string& where) {
  const int64_t rows = w.size(0);
  if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
    throw Error(where + ": " + std::to_string(rows) + " rows are not whole heads of even size for " +
                std::to_string(heads) + " heads");
  std::vector<int64_t> shape = {heads, rows / heads / 2, 2};
  for (int64_t d = 1; d < w.dim(); ++d) shape.push_back(w.size(d));
  return w.reshape(shape).transpose(1, 2).reshape(w.sizes());
}

// NeoX's per-head [q_h; k_h; v_h] rows from GGUF's [Q; K; V].
at::Tensor interleave_qkv(const at::Tensor& w, int64_t heads, const std::string& where) {
  const int64_t rows = w.size(0);
  if (rows % (3 * heads) != 0)
    throw Error(where + ": " + std::to_string(rows) + " rows are not 3 x " + std::to_string(heads) + " heads");
  std::vector<int64_t> shape = {3, heads, rows / 3 / heads};
  for (int64_t d = 1; d < w.dim(); ++d) shape.push_back(w.size(d));
  return w.reshape(shape).transpose(0, 1).reshape(w.sizes());
}

// Rope scaling (linear, yarn, llama3's rope_freqs) changes positions in ways the decoder does
// not implement: refuse rather than approximate.
void refuse_rope_scaling(const gguf::File& f, const std::string& arch) {
  const std::string key = arch + ".rope.scaling.type";
  if (auto type = f.optional_string(key); type && *type != "none")
    f.fail_key(key, "asks for '" + *type + "' rope scaling, which is not supported");
  if (f.tensor("rope_freqs.weight"))
    throw Error(f.name() + ": tensor 'rope_freqs.weight' (Llama 3.1-style rope scaling) is not supported");
}

ModelConfig config_of(const gguf::File& f, const std::string& arch, const Reader& r) {
  constexpr uint64_t kMaxSize = uint64_t{1} << 24;  // ModelConfig::validate bounds each size further
  auto size = [&](const std::string& key) { return static_cast<int64_t>(f.integer(arch + "." + key, kMaxSize)); };
  auto optional_size = [&](const std::string& key) { return f.optional_integer(arch + "." + key, kMaxSize); };
  auto number = [&](const std::string& key, double fallback) { return f.optional_number(arch + "." + key).value_or(fallback); };

  ModelConfig c;
  c.num_layers = size("block_count");
  c.hidden_size = size("embedding_length");
  c.intermediate_size = size("feed_forward_length");
  c.num_heads = size("attention.head_count");
  c.num_kv_heads = static_cast<int64_t>(optional_size("attention.head_count_kv").value_or(static_cast<uint64_t>(c.num_heads)));
  c.max_positions = size("context_length");
  c.head_dim = c.num_heads > 0 ? c.hidden_size / c.num_heads : 0;
  if (auto k = optional_size("attention.key_length")) c.head_dim = static_cast<int64_t>(*k);
  // The vocabulary: the key when present, else the embedding's rows (transformers does the same).
  c.vocab_size = static_cast<int64_t>(optional_size("vocab_size").value_or(static_cast<uint64_t>(r.outer("token_embd.weight"))));
  c.tied_embeddings = f.tensor("output.weight") == nullptr;

  if (arch == "llama" || arch == "qwen2") {
    c.family = Family::llama;
    c.norm = Norm::rms_norm;
    c.norm_eps = number("attention.layer_norm_rms_epsilon", 1e-5);
    c.activation = Activation::silu;
    c.gated_mlp = true;
    c.positions = PositionKind::rotary;
    c.rope_theta = number("rope.freq_base", 10000.0);
    c.rotary_dim = static_cast<int64_t>(optional_size("rope.dimension_count").value_or(static_cast<uint64_t>(c.head_dim)));
    c.qkv_bias = f.tensor("blk.0.attn_q.bias") != nullptr;
    c.out_bias = f.tensor("blk.0.attn_output.bias") != nullptr;
    c.mlp_bias = f.tensor("blk.0.ffn_up.bias") != nullptr;
    refuse_rope_scaling(f, arch);
  } else if (arch == "gpt2") {
    c.family = Family::gpt2;
    c.norm = Norm::layer_norm;
    c.norm_eps = number("attention.layer_norm_epsilon", 1e-5);
    c.activation = Activation::gelu_tanh;
    c.positions = PositionKind::learned;
  } else {  // gptneox
    c.family = Family::gpt_neox;
    c.norm = Norm::layer_norm;
    c.norm_eps = number("attention.layer_norm_epsilon", 1e-5);
    c.activation = Activation::gelu_exact;
    c.positions = PositionKind::rotary;
    c.rope_theta = number("rope.freq_base", 10000.0);
    c.rotary_dim = size("rope.dimension_count");
    c.parallel_residual = f.optional_flag(arch + ".use_parallel_residual").value_or(true);
    c.qkv_bias = f.tensor("blk.0.attn_qkv.bias") != nullptr;
    c.out_bias = f.tensor("blk.0.attn_output.bias") != nullptr;
    refuse_rope_scaling(f, arch);
  }
  if (auto bos = f.optional_integer("tokenizer.ggml.bos_token_id", UINT32_MAX)) c.bos_token_id = static_cast<int64_t>(*bos);
  if (auto eos = f.optional_integer("tokenizer.ggml.eos_token_id", UINT32_MAX)) c.eos_token_id = static_cast<int64_t>(*eos);
  c.validate(f.name());
  // The embedding must agree with the sizes the metadata states.
  const auto& embd = r.info("token_embd.weight");
  if (embd.dims.size() != 2 || embd.dims[0] != c.hidden_size || embd.dims[1] != c.vocab_size)
    throw Error(f.name() + ": tensor 'token_embd.weight' has GGUF dimensions [" + std::to_string(embd.dims[0]) +
                (embd.dims.size() > 1 ? ", " + std::to_string(embd.dims[1]) : std::string()) + "], the metadata says [" +
                std::to_string(c.hidden_size) + ", " + std::to_string(c.vocab_size) + "]");
  return c;
}

}  // namespace

GgufCheckpoint read_gguf_checkpoint(const std::filesystem::path& path, at::Device device, at::ScalarType dtype) {
  const gguf::File f = gguf::File::open(path);
  const std::string arch = f.string("general.architecture");
  const std::vector<Mapping>* table = nullptr;
  if (arch == "llama" || arch == "qwen2") table = &llama_tensors();
  else if (arch == "gpt2") table = &gpt2_tensors();
  else if (arch == "gptneox") table = &gptneox_tensors();
  else f.fail_key("general.architecture", "is '" + arch + "'; Eidetic reads llama, qwen2, gpt2 and gptneox GGUF files");

  const Reader r(f, device);
  GgufCheckpoint ck;
  ck.config = config_of(f, arch, r);
  const ModelConfig& c = ck.config;
  // qwen2 is converted without llama's rotary permutation (it rotates halves, as HF does).
  const bool permuted = arch == "llama";

  auto put = [&](const Mapping& m, int64_t layer) {
    const std::string name = expand(m.gguf, layer);
    const gguf::TensorInfo* t = f.tensor(name);
    if (!t) {
      if (m.required) throw Error(f.name() + ": tensor '" + name + "' is missing");
      return;
    }
    const std::string where = f.name() + ", tensor '" + name + "'";
    at::Tensor v = r.values(*t);
    const bool is_k = name.find(".attn_k.") != std::string::npos;
    switch (m.layout) {
      case Layout::plain: break;
      case Layout::rotary_pairs:
        if (permuted) v = unpermute_rotary(v, is_k ? c.num_kv_heads : c.num_heads, where);
        break;
      case Layout::transpose:
        if (v.dim() != 2) throw Error(where + ": expected a matrix, got " + std::to_string(v.dim()) + " dimensions");
        v = v.t();
        break;
      case Layout::neox_qkv: v = interleave_qkv(v, c.num_heads, where); break;
    }
    const std::string hf = expand(m.hf, layer);
    ck.tensors.tensors[hf] = v.to(dtype).contiguous();
    ck.tensors.source[hf] = where;
  };
  for (const Mapping& m : *table) {
    if (std::string(m.gguf).find("{layer}") == std::string::npos) {
      put(m, 0);
    } else {
      for (int64_t layer = 0; layer < c.num_layers; ++layer) put(m, layer);
    }
  }
  return ck;
}

}  // namespace eidetic::models
