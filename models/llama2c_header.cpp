// models/llama2c_header.cpp: see llama2c_header.h.
#include "models/llama2c_header.h"

#include <cstring>

#include "common/error.h"

namespace eidetic::models {

Llama2cLayout parse_llama2c_header(const uint8_t* header, size_t header_size, uint64_t file_size,
                                   const std::string& file) {
  if (header_size < kLlama2cHeaderBytes || file_size < kLlama2cHeaderBytes)
    throw Error(file + ": truncated: shorter than the 28-byte llama2.c header");
  int32_t h[7];
  std::memcpy(h, header, sizeof h);  // little-endian int32, as run.c writes them on x86
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4];
  const bool shared = h[5] > 0;
  const int64_t vocab = h[5] > 0 ? h[5] : -static_cast<int64_t>(h[5]);
  const int64_t seq_len = h[6];
  auto implausible = [&](const char* what, int64_t v, const char* why) {
    throw Error(file + ": not a llama2.c checkpoint (header field " + what + " = " + std::to_string(v) + ", " + why + ")");
  };
  // The bounds keep every size below 2^50 floats, so nothing computed from them can wrap.
  if (dim <= 0 || dim > (1 << 16)) implausible("dim", dim, "expected 1..65536");
  if (hidden <= 0 || hidden > (1 << 18)) implausible("hidden_dim", hidden, "expected 1..262144");
  if (layers <= 0 || layers > 1024) implausible("n_layers", layers, "expected 1..1024");
  if (heads <= 0 || dim % heads) implausible("n_heads", heads, "must divide dim");
  if ((dim / heads) % 2) implausible("n_heads", heads, "the head dimension dim/n_heads must be even for rotary");
  if (kv_heads <= 0 || heads % kv_heads) implausible("n_kv_heads", kv_heads, "must divide n_heads");
  if (vocab <= 0 || vocab > (1 << 22)) implausible("vocab_size", vocab, "expected 1..4194304 in magnitude");
  if (seq_len <= 0 || seq_len > (1 << 22)) implausible("seq_len", seq_len, "expected 1..4194304");
  const int64_t head = dim / heads, kv_dim = kv_heads * head;

  Llama2cLayout out;
  ModelConfig& c = out.config;
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
  out.shared_classifier = shared;

  // Expected size: header, then the weights in run.c's order, then (maybe) the classifier.
  const int64_t floats = vocab * dim + layers * dim + layers * dim * (heads * head) + 2 * layers * dim * kv_dim +
                         layers * (heads * head) * dim + layers * dim + 3 * layers * dim * hidden + dim +
                         seq_len * head / 2 * 2 + (shared ? 0 : vocab * dim);
  out.expected_bytes = kLlama2cHeaderBytes + 4 * static_cast<uint64_t>(floats);
  if (file_size < out.expected_bytes)
    throw Error(file + ": truncated: the header describes " + std::to_string(out.expected_bytes) +
                " bytes of checkpoint but the file has " + std::to_string(file_size));
  return out;
}

}  // namespace eidetic::models
