// models/llama2c.cpp: see llama2c.h.
#include "models/llama2c.h"

#include <ATen/ATen.h>

#include <fstream>

#include "common/error.h"
#include "models/llama2c_header.h"

namespace eidetic::models {

Llama2cCheckpoint read_llama2c_checkpoint(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(file + ": cannot open the checkpoint");
  uint8_t header[kLlama2cHeaderBytes] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const Llama2cLayout layout = parse_llama2c_header(header, static_cast<size_t>(in.gcount()),
                                                    std::filesystem::file_size(path), file);
  const ModelConfig& c = layout.config;
  const bool shared = layout.shared_classifier;
  const int64_t dim = c.hidden_size, hidden = c.intermediate_size, layers = c.num_layers, heads = c.num_heads;
  const int64_t kv_heads = c.num_kv_heads, vocab = c.vocab_size, seq_len = c.max_positions;
  const int64_t head = c.head_dim, kv_dim = kv_heads * head;

  auto read = [&](std::vector<int64_t> shape) {
    at::Tensor t = at::empty(shape, at::kFloat);
    in.read(reinterpret_cast<char*>(t.mutable_data_ptr<float>()), static_cast<std::streamsize>(t.numel() * 4));
    if (!in) throw Error(file + ": truncated while reading weights");
    return t;
  };
  // HF's conversion: rows of each head reordered from interleaved pairs to two halves.
  auto permute = [](const at::Tensor& w, int64_t n_heads, int64_t rows, int64_t cols) {
    return w.view({n_heads, rows / n_heads / 2, 2, cols}).transpose(1, 2).reshape({rows, cols});
  };

  TensorSet set;
  auto put = [&](const std::string& name, const at::Tensor& t) {
    set.tensors[name] = t;
    set.source[name] = file;
  };
  const at::Tensor embed = read({vocab, dim});
  const at::Tensor rms_att = read({layers, dim});
  const at::Tensor wq = read({layers, heads * head, dim});
  const at::Tensor wk = read({layers, kv_dim, dim});
  const at::Tensor wv = read({layers, kv_dim, dim});
  const at::Tensor wo = read({layers, dim, heads * head});
  const at::Tensor rms_ffn = read({layers, dim});
  const at::Tensor w1 = read({layers, hidden, dim});
  const at::Tensor w2 = read({layers, dim, hidden});
  const at::Tensor w3 = read({layers, hidden, dim});
  const at::Tensor rms_final = read({dim});
  read({seq_len, head / 2});  // freq_cis_real: recomputed from theta instead
  read({seq_len, head / 2});  // freq_cis_imag
  put("model.embed_tokens.weight", embed);
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    put(p + "input_layernorm.weight", rms_att[i]);
    put(p + "self_attn.q_proj.weight", permute(wq[i], heads, heads * head, dim));
    put(p + "self_attn.k_proj.weight", permute(wk[i], kv_heads, kv_dim, dim));
    put(p + "self_attn.v_proj.weight", wv[i]);
    put(p + "self_attn.o_proj.weight", wo[i]);
    put(p + "post_attention_layernorm.weight", rms_ffn[i]);
    put(p + "mlp.gate_proj.weight", w1[i]);
    put(p + "mlp.down_proj.weight", w2[i]);
    put(p + "mlp.up_proj.weight", w3[i]);
  }
  put("model.norm.weight", rms_final);
  if (!shared) put("lm_head.weight", read({vocab, dim}));
  return {c, std::move(set)};
}

}  // namespace eidetic::models
