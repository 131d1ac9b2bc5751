// models/llama2c.cpp: see llama2c.h.
#include "models/llama2c.h"

#include <ATen/ATen.h>

#include <fstream>

#include "common/error.h"

namespace eidetic::models {

Llama2cCheckpoint read_llama2c_checkpoint(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(file + ": cannot open the checkpoint");
  int32_t h[7];
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (!in) throw Error(file + ": truncated: shorter than the 28-byte llama2.c header");
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4];
  const bool shared = h[5] > 0;
  const int64_t vocab = h[5] > 0 ? h[5] : -static_cast<int64_t>(h[5]);
  const int64_t seq_len = h[6];
  auto implausible = [&](const char* what, int64_t v) {
    throw Error(file + ": not a llama2.c checkpoint (header field " + what + " = " + std::to_string(v) + ")");
  };
  if (dim <= 0 || dim > (1 << 16)) implausible("dim", dim);
  if (hidden <= 0 || hidden > (1 << 18)) implausible("hidden_dim", hidden);
  if (layers <= 0 || layers > 1024) implausible("n_layers", layers);
  if (heads <= 0 || dim % heads) implausible("n_heads", heads);
  if (kv_heads <= 0 || heads % kv_heads) implausible("n_kv_heads", kv_heads);
  if (vocab <= 0 || vocab > (1 << 22)) implausible("vocab_size", vocab);
  if (seq_len <= 0 || seq_len > (1 << 22)) implausible("seq_len", seq_len);
  const int64_t head = dim / heads, kv_dim = kv_heads * head;

  ModelConfig c;
  c.family = Family::llama;
  c.vocab_size = vocab;
  c.hidden_size = dim;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = head;
  c.intermediate_size = hidden;
  c.max_positions = seq_len;
  c.norm = Norm::rms_norm;
  c.norm_eps = 1e-5;
  c.activation = Activation::silu;
  c.gated_mlp = true;
  c.qkv_bias = c.out_bias = c.mlp_bias = false;
  c.positions = PositionKind::rotary;
  c.rotary_dim = head;
  c.rope_theta = 10000.0;
  c.tied_embeddings = shared;
  c.bos_token_id = 1;
  c.eos_token_id = 2;

  // Expected size: header, then the weights in run.c's order, then (maybe) the classifier.
  const int64_t floats = vocab * dim + layers * dim + layers * dim * (heads * head) + 2 * layers * dim * kv_dim +
                         layers * (heads * head) * dim + layers * dim + 3 * layers * dim * hidden + dim +
                         seq_len * head / 2 * 2 + (shared ? 0 : vocab * dim);
  const auto actual = static_cast<int64_t>(std::filesystem::file_size(path));
  const int64_t expected = 28 + 4 * floats;
  if (actual < expected)
    throw Error(file + ": truncated: the header describes " + std::to_string(expected) +
                " bytes of checkpoint but the file has " + std::to_string(actual));

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
