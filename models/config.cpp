// models/config.cpp: Hugging Face config.json to ModelConfig, per family, and back. Each family
// is one entry of family_configs: its keys, defaults and own switches, read and written from
// the same entry.
#include "models/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "common/read_file.h"

namespace eidetic::models {
namespace {

using nlohmann::json;

class Reader {
 public:
  Reader(const json& j, std::string file) : j_(j), file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(file_ + ": key '" + key + "' " + what);
  }

  bool has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }

  int64_t integer(const std::string& key) const {
    if (!has(key)) fail(key, "is missing");
    if (!j_[key].is_number_integer()) fail(key, "must be an integer, got " + j_[key].dump());
    return j_[key].get<int64_t>();
  }
  int64_t integer(const std::string& key, int64_t fallback) const {
    return has(key) ? integer(key) : fallback;
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_number()) fail(key, "must be a number, got " + j_[key].dump());
    return j_[key].get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) fail(key, "must be true or false, got " + j_[key].dump());
    return j_[key].get<bool>();
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail(key, "must be a string, got " + j_[key].dump());
    return j_[key].get<std::string>();
  }
  std::optional<int64_t> optional_id(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    if (j_[key].is_array()) {  // some configs list several; the first is the primary one
      if (j_[key].empty() || !j_[key][0].is_number_integer()) fail(key, "must be an integer");
      return j_[key][0].get<int64_t>();
    }
    return integer(key);
  }
  const json& raw(const std::string& key) const { return j_[key]; }
  const std::string& file() const { return file_; }

 private:
  const json& j_;
  std::string file_;
};

Activation parse_activation(const Reader& r, const std::string& key, const std::string& name) {
  if (name == "gelu") return Activation::gelu_exact;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "relu") return Activation::relu;
  r.fail(key, "names an unsupported activation '" + name + "'");
}

// rope_theta and the rotated fraction, from either the older flat keys or rope_parameters.
void parse_rope(const Reader& r, ModelConfig& c, double default_fraction,
                const char* fraction_key, const char* theta_key) {
  double fraction = r.number(fraction_key, default_fraction);
  c.rope_theta = r.number(theta_key, r.number("rope_theta", 10000.0));
  if (r.has("rope_parameters")) {
    const json& p = r.raw("rope_parameters");
    if (!p.is_object()) r.fail("rope_parameters", "must be an object");
    if (p.contains("rope_type") && p["rope_type"] != "default")
      r.fail("rope_parameters", "has rope_type " + p["rope_type"].dump() +
                                    "; only \"default\" rotary embeddings are supported");
    if (p.contains("rope_theta")) c.rope_theta = p["rope_theta"].get<double>();
    if (p.contains("partial_rotary_factor")) fraction = p["partial_rotary_factor"].get<double>();
  }
  if (r.has("rope_scaling")) {
    const json& s = r.raw("rope_scaling");
    const std::string type = s.value("rope_type", s.value("type", std::string("default")));
    if (type != "default") r.fail("rope_scaling", "asks for '" + type + "' scaling, which is not supported");
  }
  c.positions = PositionKind::rotary;
  c.rotary_dim = static_cast<int64_t>(static_cast<double>(c.head_dim) * fraction);
}

// The switches only GPT-2 has.
void parse_gpt2(const Reader& r, ModelConfig& c) {
  c.positions = PositionKind::learned;
  c.scale_attention = r.boolean("scale_attn_weights", true);
  if (r.boolean("scale_attn_by_inverse_layer_idx", false))
    r.fail("scale_attn_by_inverse_layer_idx", "is true, which is not supported");
}
void write_gpt2(const ModelConfig&, json&) {}

// GPT-Neo: unscaled float32 attention without q/k/v biases, and local layers.
void parse_gpt_neo(const Reader& r, ModelConfig& c) {
  c.qkv_bias = false;
  c.scale_attention = false;
  c.attention_in_fp32 = true;
  c.window_size = r.integer("window_size", 256);
  // attention_types: [[["global", "local"], 12]] expands to 24 layers alternating.
  if (!r.has("attention_types")) r.fail("attention_types", "is missing");
  for (const json& group : r.raw("attention_types")) {
    if (!group.is_array() || group.size() != 2 || !group[0].is_array() || !group[1].is_number_integer())
      r.fail("attention_types", "must look like [[[\"global\", \"local\"], 12]]");
    // Stop as soon as the groups describe more layers than the model has (a count of 10^12
    // must not allocate before it is refused).
    const int64_t repeat = group[1].get<int64_t>();
    if (repeat < 0 || repeat > c.num_layers ||
        static_cast<int64_t>(c.local_layers.size()) + repeat * static_cast<int64_t>(group[0].size()) > c.num_layers)
      r.fail("attention_types", "describes more layers than num_layers (" + std::to_string(c.num_layers) + ")");
    for (int64_t i = 0; i < repeat; ++i)
      for (const json& kind : group[0]) {
        const std::string k = kind.get<std::string>();
        if (k != "global" && k != "local") r.fail("attention_types", "has unknown type '" + k + "'");
        c.local_layers.push_back(k == "local");
      }
  }
  if (static_cast<int64_t>(c.local_layers.size()) != c.num_layers)
    r.fail("attention_types", "describes " + std::to_string(c.local_layers.size()) +
                                  " layers but num_layers is " + std::to_string(c.num_layers));
}
void write_gpt_neo(const ModelConfig& c, json& j) {
  j["window_size"] = c.window_size;
  json types = json::array();
  for (bool local : c.local_layers) types.push_back({{local ? "local" : "global"}, 1});
  j["attention_types"] = types;
}

// GPT-NeoX: partial rotary embeddings, the parallel residual, switchable attention biases.
void parse_gpt_neox(const Reader& r, ModelConfig& c) {
  c.qkv_bias = c.out_bias = r.boolean("attention_bias", true);
  parse_rope(r, c, 0.25, "rotary_pct", "rotary_emb_base");
  c.parallel_residual = r.boolean("use_parallel_residual", true);
}
void write_gpt_neox(const ModelConfig& c, json& j) {
  const double fraction = static_cast<double>(c.rotary_dim) / static_cast<double>(c.head_dim);
  j["attention_bias"] = c.qkv_bias;
  j["use_parallel_residual"] = c.parallel_residual;
  j["rotary_pct"] = fraction;
  j["rotary_emb_base"] = c.rope_theta;
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", c.rope_theta}, {"partial_rotary_factor", fraction}};
}

// Llama: grouped-query attention, a free head_dim, RMSNorm, the gated MLP, optional biases.
void parse_llama(const Reader& r, ModelConfig& c) {
  c.num_kv_heads = r.integer("num_key_value_heads", c.num_heads);
  c.head_dim = r.integer("head_dim", c.head_dim);
  c.norm = Norm::rms_norm;
  c.gated_mlp = true;
  c.qkv_bias = c.out_bias = r.boolean("attention_bias", false);
  c.mlp_bias = r.boolean("mlp_bias", false);
  parse_rope(r, c, 1.0, "partial_rotary_factor", "rope_theta");
  if (r.integer("pretraining_tp", 1) != 1) r.fail("pretraining_tp", "must be 1");
}
void write_llama(const ModelConfig& c, json& j) {
  j["num_key_value_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["attention_bias"] = c.qkv_bias;
  j["mlp_bias"] = c.mlp_bias;
  j["rope_theta"] = c.rope_theta;
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", c.rope_theta}};
}

// One family's config.json: the keys it names the common sizes by (read by the parser and
// written by to_hf_config_json alike), their defaults where the family has one, and the
// family's own switches, read and written by its two functions.
struct FamilyConfig {
  Family family;
  const char* model_type;
  const char* architecture;  // the class transformers builds for a saved folder
  const char* hidden_key;
  const char* layers_key;
  const char* heads_key;
  const char* intermediate_key;
  const char* positions_key;
  const char* norm_eps_key;
  const char* activation_key;
  int64_t intermediate_per_hidden;  // intermediate size's default, in hidden sizes; 0: required
  int64_t default_positions;        // 0: required
  double default_norm_eps;
  const char* default_activation;
  bool default_tied;
  void (*parse)(const Reader&, ModelConfig&);  // after the common sizes
  void (*write)(const ModelConfig&, json&);
};

const FamilyConfig family_configs[] = {
    {Family::gpt2, "gpt2", "GPT2LMHeadModel", "n_embd", "n_layer", "n_head", "n_inner", "n_positions",
     "layer_norm_epsilon", "activation_function", 4, 0, 1e-5, "gelu_new", true, parse_gpt2, write_gpt2},
    {Family::gpt_neo, "gpt_neo", "GPTNeoForCausalLM", "hidden_size", "num_layers", "num_heads", "intermediate_size",
     "max_position_embeddings", "layer_norm_epsilon", "activation_function", 4, 0, 1e-5, "gelu_new", true,
     parse_gpt_neo, write_gpt_neo},
    {Family::gpt_neox, "gpt_neox", "GPTNeoXForCausalLM", "hidden_size", "num_hidden_layers", "num_attention_heads",
     "intermediate_size", "max_position_embeddings", "layer_norm_eps", "hidden_act", 0, 0, 1e-5, "gelu", false,
     parse_gpt_neox, write_gpt_neox},
    {Family::llama, "llama", "LlamaForCausalLM", "hidden_size", "num_hidden_layers", "num_attention_heads",
     "intermediate_size", "max_position_embeddings", "rms_norm_eps", "hidden_act", 0, 2048, 1e-6, "silu", false,
     parse_llama, write_llama},
};

const FamilyConfig* find_family(Family family) {
  for (const FamilyConfig& f : family_configs)
    if (f.family == family) return &f;
  return nullptr;
}

ModelConfig parse_family(const Reader& r, const FamilyConfig& f) {
  ModelConfig c;
  c.family = f.family;
  c.vocab_size = r.integer("vocab_size");
  c.hidden_size = r.integer(f.hidden_key);
  c.num_layers = r.integer(f.layers_key);
  c.num_heads = r.integer(f.heads_key);
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.num_heads > 0 ? c.hidden_size / c.num_heads : 0;
  c.intermediate_size = f.intermediate_per_hidden > 0
                            ? r.integer(f.intermediate_key, f.intermediate_per_hidden * c.hidden_size)
                            : r.integer(f.intermediate_key);
  c.max_positions = f.default_positions > 0 ? r.integer(f.positions_key, f.default_positions)
                                            : r.integer(f.positions_key);
  c.norm_eps = r.number(f.norm_eps_key, f.default_norm_eps);
  c.activation = parse_activation(r, f.activation_key, r.string(f.activation_key, f.default_activation));
  c.tied_embeddings = r.boolean("tie_word_embeddings", f.default_tied);
  f.parse(r, c);
  return c;
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::gelu_exact: return "gelu";
    case Activation::gelu_tanh: return "gelu_new";
    case Activation::silu: return "silu";
    case Activation::relu: return "relu";
  }
  return "gelu";
}

}  // namespace

const char* family_name(Family family) {
  const FamilyConfig* f = find_family(family);
  return f ? f->model_type : "unknown";
}

int64_t ModelConfig::parameter_count() const {
  const int64_t H = hidden_size, D = head_dim;
  const int64_t q = num_heads * D, kv = num_kv_heads * D;
  int64_t per_layer = H * (q + 2 * kv) + q * H;             // attention projections
  if (qkv_bias) per_layer += q + 2 * kv;
  if (out_bias) per_layer += H;
  per_layer += (gated_mlp ? 3 : 2) * H * intermediate_size;  // MLP
  if (mlp_bias) per_layer += intermediate_size * (gated_mlp ? 2 : 1) + H;
  per_layer += (norm == Norm::layer_norm ? 4 : 2) * H;       // two norms
  int64_t total = num_layers * per_layer + vocab_size * H + (norm == Norm::layer_norm ? 2 : 1) * H;
  if (positions == PositionKind::learned) total += max_positions * H;
  if (!tied_embeddings) total += vocab_size * H;
  return total;
}

void ModelConfig::validate(const std::string& where) const {
  auto positive = [&](int64_t v, const char* name) {
    if (v <= 0) throw Error(where + ": " + name + " must be positive, got " + std::to_string(v));
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden size");
  positive(num_layers, "number of layers");
  positive(num_heads, "number of heads");
  positive(num_kv_heads, "number of key/value heads");
  positive(head_dim, "head_dim");
  positive(intermediate_size, "intermediate size");
  positive(max_positions, "max positions");
  // Upper bounds far above any real checkpoint (the largest vocabularies have ~262k tokens,
  // the widest models 2^14-2^15 hidden units): with them no size computed from the config,
  // parameter_count included, can wrap, and absurd values get this line instead of an
  // allocation failure deep in libtorch.
  auto at_most = [&](int64_t v, int64_t bound, const char* name) {
    if (v > bound)
      throw Error(where + ": " + name + " " + std::to_string(v) + " is implausibly large (at most " + std::to_string(bound) + ")");
  };
  at_most(vocab_size, int64_t{1} << 22, "vocab_size");
  at_most(hidden_size, int64_t{1} << 17, "hidden size");
  at_most(num_layers, 4096, "number of layers");
  at_most(num_heads, int64_t{1} << 12, "number of heads");
  at_most(head_dim, int64_t{1} << 12, "head_dim");
  at_most(intermediate_size, int64_t{1} << 19, "intermediate size");
  at_most(max_positions, int64_t{1} << 24, "max positions");
  if (num_heads % num_kv_heads != 0)
    throw Error(where + ": " + std::to_string(num_heads) + " heads are not a multiple of " +
                std::to_string(num_kv_heads) + " key/value heads");
  if (family != Family::llama && num_heads * head_dim != hidden_size)
    throw Error(where + ": hidden size " + std::to_string(hidden_size) + " is not divisible by " +
                std::to_string(num_heads) + " heads");
  if (positions == PositionKind::rotary && (rotary_dim <= 0 || rotary_dim > head_dim || rotary_dim % 2))
    throw Error(where + ": rotary dimension " + std::to_string(rotary_dim) +
                " must be even and within 1.." + std::to_string(head_dim));
  if (!local_layers.empty() && static_cast<int64_t>(local_layers.size()) != num_layers)
    throw Error(where + ": local attention pattern does not cover every layer");
}

ModelConfig parse_hf_config(const std::filesystem::path& config_json) {
  const std::string file = config_json.string();
  const std::string text = read_file_bounded(config_json, std::uintmax_t{16} << 20, "model config");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double
    throw Error(file + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(file + ": expected a JSON object");
  const Reader r(j, file);
  const std::string type = r.string("model_type", "");
  if (type.empty()) r.fail("model_type", "is missing");
  const FamilyConfig* family = nullptr;
  std::string supported;
  for (const FamilyConfig& f : family_configs) {
    if (f.model_type == type) family = &f;
    supported += (supported.empty() ? "" : ", ") + std::string(f.model_type);
  }
  if (!family) r.fail("model_type", "names unknown model type '" + type + "' (supported: " + supported + ")");
  ModelConfig c;
  try {
    c = parse_family(r, *family);
  } catch (const json::exception& e) {
    throw Error(file + ": malformed value (" + e.what() + ")");
  }
  c.bos_token_id = r.optional_id("bos_token_id");
  c.eos_token_id = r.optional_id("eos_token_id");
  c.validate(file);
  return c;
}

std::string to_hf_config_json(const ModelConfig& c) {
  const FamilyConfig* f = find_family(c.family);
  if (!f) throw Error("no config.json form for family " + std::to_string(static_cast<int>(c.family)));
  json j;
  j["vocab_size"] = c.vocab_size;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_id) j["eos_token_id"] = *c.eos_token_id;
  j["tie_word_embeddings"] = c.tied_embeddings;
  j["model_type"] = f->model_type;
  j["architectures"] = {f->architecture};
  j[f->hidden_key] = c.hidden_size;
  j[f->layers_key] = c.num_layers;
  j[f->heads_key] = c.num_heads;
  j[f->intermediate_key] = c.intermediate_size;
  j[f->positions_key] = c.max_positions;
  j[f->norm_eps_key] = c.norm_eps;
  j[f->activation_key] = activation_name(c.activation);
  f->write(c, j);
  return j.dump(2) + "\n";
}

}  // namespace eidetic::models
