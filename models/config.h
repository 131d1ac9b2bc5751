// models/config.h: the shape and semantics of a causal decoder, one struct for every family.
//
// GPT-2, GPT-Neo, GPT-NeoX (Pythia) and Llama differ in a handful of switches: how positions
// enter (learned table or rotary, and on how much of each head), which norm, which MLP, whether
// attention scores are scaled, whether some layers see only a local window, whether the two
// residual branches run in parallel, and whether the output head is the input embedding. The
// decoder reads these switches; it has no per-family code paths beyond them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace eidetic::models {

enum class Family { gpt2, gpt_neo, gpt_neox, llama };
enum class Norm { layer_norm, rms_norm };
enum class Activation { gelu_exact, gelu_tanh, silu, relu };
enum class PositionKind { learned, rotary };

const char* family_name(Family family);

struct ModelConfig {
  Family family = Family::llama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // == num_heads unless grouped-query attention
  int64_t head_dim = 0;
  int64_t intermediate_size = 0;
  int64_t max_positions = 0;

  Norm norm = Norm::layer_norm;
  double norm_eps = 1e-5;
  Activation activation = Activation::gelu_exact;
  bool gated_mlp = false;         // Llama: down(act(gate(x)) * up(x))
  bool qkv_bias = true;           // biases on the query/key/value projections
  bool out_bias = true;           // bias on the attention output projection
  bool mlp_bias = true;
  PositionKind positions = PositionKind::learned;
  int64_t rotary_dim = 0;         // rotated dimensions per head (NeoX: head_dim * rotary_pct)
  double rope_theta = 10000.0;
  bool scale_attention = true;    // GPT-Neo: scores are not divided by sqrt(head_dim)
  bool attention_in_fp32 = false; // GPT-Neo computes q·k and softmax in float32
  std::vector<bool> local_layers; // GPT-Neo: true for layers with local attention
  int64_t window_size = 0;        // local attention sees keys with 0 <= i - j < window_size
  bool parallel_residual = false; // NeoX: x + attn(ln1(x)) + mlp(ln2(x))
  bool tied_embeddings = false;   // output head is the input embedding

  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> eos_token_id;

  // Parameters, for reports and the roofline.
  int64_t parameter_count() const;
  // Checks internal consistency (positive sizes, divisibility); throws eidetic::Error naming `where`.
  void validate(const std::string& where) const;
};

// Reads a Hugging Face config.json. Errors name the file and the key.
ModelConfig parse_hf_config(const std::filesystem::path& config_json);

// The config as a Hugging Face config.json would state it (for saving lab-trained models).
std::string to_hf_config_json(const ModelConfig& config);

}  // namespace eidetic::models
