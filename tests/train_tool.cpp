// tests/train_tool.cpp: trains a tiny model of one family for a few steps and saves it as a
// Hugging Face folder, for tests/trainer_oracle.py, which loads the folder with transformers and
// compares its logits with the ones this tool computes from the model in memory. With --dump it
// instead records every optimizer step of a short run, so that the same script can replay the
// run with torch.optim.AdamW and compare the weights. With --bench it measures training
// throughput for a given shape and prints it as JSON.
//
// Usage:
//   eidetic_train_tool --family gpt_neox|llama|gpt2|gpt_neo --out DIR --check FILE [--steps N]
//   eidetic_train_tool --family F --dump DIR [--steps N --warmup W --lr LR --min-lr-ratio R
//                      --weight-decay WD --grad-clip C --beta1 B1 --beta2 B2 --eps E
//                      --batch B --seq-len T]
//       DIR/init: the freshly initialized model (save_hf_model); DIR/batch.safetensors: "tokens",
//       the whole stream as [B, T + 1] (exactly B chunks, so every step trains on all of them, in
//       an order the mean loss does not depend on but for rounding); DIR/step_K.safetensors: the weights under
//       Hugging Face names after optimizer step K (1-based). Prints {"lr": [...], "loss": [...]}
//       with the learning rate and loss of each step as train_model reports them.
//   eidetic_train_tool --bench [--vocab V --hidden H --layers L --heads A --seq-len T --batch B
//                               --steps N --device cpu|cuda]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "common/error.h"
#include "kernels/rng.h"
#include "model_util.h"
#include "models/safetensors.h"
#include "models/trainer.h"

namespace {

using eidetic::models::ModelConfig;
namespace models = eidetic::models;

ModelConfig tiny_config(const std::string& family) {
  using eidetic::testing::Sizes;
  const int64_t vocab = 96, positions = 64;
  ModelConfig c;
  if (family == "gpt_neox") {
    c = eidetic::testing::neox_config({.vocab = vocab, .hidden = 64, .layers = 2, .heads = 4, .kv_heads = 4,
                                       .head_dim = 16, .intermediate = 128, .max_positions = positions},
                                      4);  // rotary_pct 0.25
    c.bos_token_id = c.eos_token_id = 0;
  } else if (family == "llama") {
    c = eidetic::testing::llama_config({.vocab = vocab, .hidden = 48, .layers = 2, .heads = 4, .kv_heads = 2,
                                        .head_dim = 12, .intermediate = 96, .max_positions = positions},
                                       12);
    c.bos_token_id = 1;
    c.eos_token_id = 2;
  } else if (family == "gpt2" || family == "gpt_neo") {
    const Sizes s{.vocab = vocab, .hidden = 32, .layers = 2, .heads = 4, .kv_heads = 4, .head_dim = 8,
                  .intermediate = 128, .max_positions = positions};
    c = family == "gpt2" ? eidetic::testing::gpt2_config(s) : eidetic::testing::gpt_neo_config(s, 5);
    c.bos_token_id = c.eos_token_id = 0;
  } else {
    throw eidetic::Error("unknown family '" + family + "' (gpt_neox, llama, gpt2, gpt_neo)");
  }
  return c;
}

std::vector<int64_t> random_stream(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    s[static_cast<size_t>(i)] = static_cast<int64_t>(eidetic::kernels::random_bits(seed, 1, 0, i) % vocab);
  return s;
}

int run(int argc, char** argv) {
  std::map<std::string, std::string> args;
  bool bench = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bench") {
      bench = true;
    } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
      args[a.substr(2)] = argv[++i];
    } else {
      throw eidetic::Error("unexpected argument '" + a + "'");
    }
  }
  auto get = [&](const std::string& k, const std::string& def) { return args.count(k) ? args[k] : def; };

  if (bench) {
    ModelConfig c = tiny_config("gpt_neox");
    c.vocab_size = std::stoll(get("vocab", "512"));
    c.hidden_size = std::stoll(get("hidden", "128"));
    c.num_layers = std::stoll(get("layers", "4"));
    c.num_heads = c.num_kv_heads = std::stoll(get("heads", "4"));
    c.head_dim = c.hidden_size / c.num_heads;
    c.intermediate_size = 4 * c.hidden_size;
    c.rotary_dim = c.head_dim / 4;
    models::TrainOptions o;
    o.seq_len = std::stoll(get("seq-len", "128"));
    o.batch_size = std::stoll(get("batch", "16"));
    o.steps = std::stoll(get("steps", "30"));
    o.device = get("device", "cpu");
    o.warmup_steps = 5;
    o.log_every = o.steps;
    c.max_positions = std::max<int64_t>(c.max_positions, o.seq_len);
    models::Model model = models::new_training_model(c, o);
    const auto stream = random_stream((o.seq_len + 1) * o.batch_size * 8, c.vocab_size, 7);
    // One warm-up step (allocator, thread pool), then the measured run.
    models::TrainOptions warm = o;
    warm.steps = 1;
    models::train_model(model, stream, warm);
    const models::TrainResult r = models::train_model(model, stream, o);
    nlohmann::json j = {{"parameters", c.parameter_count()}, {"seq_len", o.seq_len},   {"batch", o.batch_size},
                        {"steps", o.steps},                  {"seconds", r.seconds},   {"tokens_per_s", r.tokens_per_s},
                        {"final_loss", r.final_loss},        {"threads", at::get_num_threads()}};
    std::cout << j.dump() << "\n";
    return 0;
  }

  if (args.count("dump")) {
    const std::string family = get("family", "");
    if (family.empty()) throw eidetic::Error("--dump needs --family");
    const std::filesystem::path dir = get("dump", "");
    const ModelConfig c = tiny_config(family);
    models::TrainOptions o;
    o.steps = std::stoll(get("steps", "6"));
    o.warmup_steps = std::stoll(get("warmup", "2"));
    o.lr = std::stod(get("lr", "1e-2"));
    o.min_lr_ratio = std::stod(get("min-lr-ratio", "0.1"));
    o.weight_decay = std::stod(get("weight-decay", "0.1"));
    o.grad_clip = std::stod(get("grad-clip", "1.0"));
    o.beta1 = std::stod(get("beta1", "0.9"));
    o.beta2 = std::stod(get("beta2", "0.95"));
    o.eps = std::stod(get("eps", "1e-8"));
    o.batch_size = std::stoll(get("batch", "8"));
    o.seq_len = std::stoll(get("seq-len", "32"));
    o.seed = 5;
    o.log_every = 1;
    models::Model model = models::new_training_model(c, o);
    models::save_hf_model(model, dir / "init");
    const auto stream = random_stream(o.batch_size * (o.seq_len + 1), c.vocab_size, 13);
    models::write_safetensors(dir / "batch.safetensors",
                              {{"tokens", at::tensor(stream, at::kLong).view({o.batch_size, o.seq_len + 1})}});
    nlohmann::json lrs = nlohmann::json::array(), losses = nlohmann::json::array();
    models::train_model(model, stream, o, [&](const models::TrainProgress& p) {
      lrs.push_back(p.lr);
      losses.push_back(p.loss);
      std::map<std::string, at::Tensor> weights;
      for (const auto& [name, t] : model.hf_state_dict()) weights[name] = t.detach().clone();
      models::write_safetensors(dir / ("step_" + std::to_string(p.step) + ".safetensors"), weights);
    });
    std::cout << nlohmann::json{{"family", family}, {"lr", lrs}, {"loss", losses}}.dump() << "\n";
    return 0;
  }

  const std::string family = get("family", "");
  const std::string out = get("out", ""), check = get("check", "");
  if (family.empty() || out.empty() || check.empty()) throw eidetic::Error("--family, --out and --check are required");
  const ModelConfig c = tiny_config(family);
  models::TrainOptions o;
  o.steps = std::stoll(get("steps", "30"));
  o.batch_size = 8;
  o.seq_len = 32;
  o.lr = 1e-2;
  o.warmup_steps = 5;
  o.log_every = o.steps;
  o.seed = 3;
  models::Model model = models::new_training_model(c, o);
  const models::TrainResult r = models::train_model(model, random_stream(4000, c.vocab_size, 11), o);
  models::save_hf_model(model, out);

  // Logits of a few fixed sequences from the model in memory.
  const at::Tensor ids = at::tensor(random_stream(3 * 40, c.vocab_size, 5), at::kLong).view({3, 40});
  const at::Tensor logits = model.logits(model.forward(ids, at::Tensor(), nullptr)).contiguous();
  models::write_safetensors(check, {{"ids", ids}, {"logits", logits}});
  std::cout << nlohmann::json{{"family", family}, {"final_loss", r.final_loss}, {"steps", r.steps_done}}.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
