// models/engine.h: the attack engine. Every attack generates or scores through this API.
//
// generate() takes any number of prompts of any lengths and a decode spec (greedy; sampling
// with temperature, a temperature schedule, top-k and top-p; beam search; n samples per
// prompt) and streams them through the device in batches: prompts are sorted by length (less
// padding), each batch is prefilled once, then decoded one token per step from the static KV
// cache. n samples of a prompt are prefilled once and then fork the prompt's cache. On CUDA the
// decode step is captured once per batch shape as a CUDA graph and replayed with no host
// synchronization inside the loop (EngineOptions::cuda_graphs turns this off). Every random
// draw depends only on (seed, prompt index, sample index, step), so results do not depend on
// batch size, batch order, graphs or device. The batch size is chosen from free memory
// ("auto") and halves on out-of-memory, retrying the same batch.
//
// score() returns per-token log-probabilities (and entropy and rank when asked) of
// teacher-forced sequences through the fused kernel, without a (B, T, V) float32 tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <vector>

#include "kernels/sample.h"
#include "models/model.h"

namespace eidetic::models {

struct DecodeSpec {
  enum class Mode { greedy, sample, beam };
  Mode mode = Mode::greedy;
  int64_t max_new_tokens = 32;
  kernels::SampleParams sampling;  // temperature schedule, top-k, top-p, seed (Mode::sample)
  int64_t num_samples = 1;         // sequences per prompt (Mode::sample)
  int64_t beam_width = 1;          // Mode::beam: the best beam is returned
  std::optional<int64_t> stop_token;  // a sequence ends at this token (excluded)
  // Global ids of the prompts, naming their random streams (stream = id x width + sample).
  // Empty: a prompt's index in the call. Attacks that generate in batches pass item ids, so
  // that a prompt's samples do not depend on which batch it landed in.
  std::vector<int64_t> prompt_ids;
};

struct EngineOptions {
  int64_t batch_size = 0;         // rows per batch; 0 = auto from free memory
  int64_t max_batch_size = 1024;  // cap for auto
  bool cuda_graphs = true;        // capture the decode step on CUDA
  double memory_fraction = 0.85;  // share of free device memory auto may plan for
};

struct Generated {
  int64_t prompt = 0;             // index into the prompts given
  int64_t sample = 0;             // 0..num_samples-1
  std::vector<int64_t> tokens;    // new tokens (stop token excluded)
  std::vector<float> logprobs;    // log p(token | prefix) under the untempered model
};

struct Scored {
  std::vector<float> logprob;     // tokens 1..T-1 given their prefixes
  std::vector<float> entropy;     // of each predictive distribution (when asked)
  std::vector<int64_t> rank;      // 1 = the most likely token (when asked)
};

struct EngineStats {
  double prefill_seconds = 0, decode_seconds = 0, score_seconds = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0, scored_tokens = 0;
  int64_t sequences = 0, batches = 0, oom_retries = 0, graph_captures = 0;
  int64_t last_batch_rows = 0;
};

class Engine {
 public:
  explicit Engine(const Model& model, EngineOptions options = {});

  // One result per (prompt, sample), prompt-major: results[p * num_samples + s].
  std::vector<Generated> generate(const std::vector<std::vector<int64_t>>& prompts, const DecodeSpec& spec);

  std::vector<Scored> score(const std::vector<std::vector<int64_t>>& sequences, bool entropy = false,
                            bool rank = false);

  // Called after each batch with (items done, items total).
  void set_progress(std::function<void(int64_t, int64_t)> progress) { progress_ = std::move(progress); }

  const EngineStats& stats() const { return stats_; }
  const Model& model() const { return model_; }

  // The rows per batch auto would choose for sequences of `capacity` tokens.
  int64_t auto_batch_rows(int64_t capacity) const;

 private:
  struct Batch;
  void run_batch(const std::vector<std::vector<int64_t>>& prompts, const std::vector<int64_t>& order,
                 const DecodeSpec& spec, std::vector<Generated>& out);
  void decode_sampled(Batch& batch, const DecodeSpec& spec);
  void decode_beam(Batch& batch, const DecodeSpec& spec);

  const Model& model_;
  EngineOptions options_;
  EngineStats stats_;
  std::function<void(int64_t, int64_t)> progress_;
};

// Checks a decode spec against a model; throws eidetic::Error saying what is wrong.
void validate_spec(const DecodeSpec& spec, const ModelConfig& config);

}  // namespace eidetic::models
