// models/engine.h: the attack engine. Every attack generates or scores through this API.
//
// generate() takes any number of prompts of any lengths and a decode spec (greedy; sampling
// with temperature, a temperature schedule, top-k and top-p; beam search; n samples per
// prompt) and streams them through the device in batches: prompts are sorted by length (less
// padding), each batch is prefilled once, then decoded one token per step from the static KV
// cache. n samples (or b beams) of a prompt are prefilled once and then fork the prompt's cache.
// On CUDA the decode step of greedy and sampled decoding (3 or more new tokens) is captured as
// a CUDA graph once per batch (each batch captures anew, even when its shape equals the last
// one's) and replayed with no host synchronization inside the loop; EngineOptions::cuda_graphs
// turns this off, and beam search always runs eagerly. Every random draw depends only on
// (seed, prompt id, sample index, step), so results do not depend on batch size, batch order,
// graphs or device.
//
// score() returns per-token log-probabilities (and entropy and rank when asked) of
// teacher-forced sequences through the fused kernel, without a (B, T, V) float32 tensor.
//
// Both run their rows through run_in_batches: the batch size is chosen from free memory
// ("auto") or set, and halves on out-of-memory, retrying the same rows.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
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
  // A token never produced (its logit is -inf at every step): the end-of-text token for
  // protocols that decode a fixed length, as Hugging Face's `min_length` does. Log-probabilities
  // are then those of the distribution without it.
  std::optional<int64_t> suppress_token;
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

// Running totals over the engine's life (attacks/engine_calls.cpp takes differences).
struct EngineStats {
  double prefill_seconds = 0, decode_seconds = 0, score_seconds = 0;
  int64_t generated_tokens = 0;  // tokens returned (stop tokens and what follows excluded)
  int64_t scored_tokens = 0;     // log-probabilities returned
  int64_t graph_captures = 0;    // CUDA graphs captured: one per graphed batch
};

class Engine {
 public:
  explicit Engine(const Model& model, EngineOptions options = {});

  // One result per (prompt, sample), prompt-major: results[p * num_samples + s].
  std::vector<Generated> generate(const std::vector<std::vector<int64_t>>& prompts, const DecodeSpec& spec);

  std::vector<Scored> score(const std::vector<std::vector<int64_t>>& sequences, bool entropy = false,
                            bool rank = false);

  const EngineStats& stats() const { return stats_; }
  const Model& model() const { return model_; }

  // The rows per batch auto would choose for sequences of `capacity` tokens.
  int64_t auto_batch_rows(int64_t capacity) const;

 private:
  struct Batch;
  // One batch: the prompts (or sequences) order[0..], results written to their places in `out`.
  void generate_batch(const std::vector<std::vector<int64_t>>& prompts, const std::vector<int64_t>& order,
                      const DecodeSpec& spec, std::vector<Generated>& out);
  void score_batch(const std::vector<std::vector<int64_t>>& sequences, const std::vector<int64_t>& order,
                   bool entropy, bool rank, std::vector<Scored>& out);
  void decode_sampled(Batch& batch, const DecodeSpec& spec);
  void decode_beam(Batch& batch, const DecodeSpec& spec);

  const Model& model_;
  EngineOptions options_;
  EngineStats stats_;
};

// The batching loop of generate() (items are prompts) and score() (items are sequences): splits
// items [0, count) into consecutive batches of at most `per_batch` items (at least 1) and calls
// run(begin, end) for each, in order. When a batch throws c10::OutOfMemoryError, the
// allocator's cached blocks on `device` are released, the batch size halves (for this batch and
// the rest of the call) and run() is called again from the same `begin`, so items may run again
// that an earlier call began: run() writes its results only once its batch is done (the time a
// failed attempt spent stays counted). Out of memory with one item a batch throws
// eidetic::Error(single_item_error).
void run_in_batches(int64_t count, int64_t per_batch, const at::Device& device, const std::string& single_item_error,
                    const std::function<void(int64_t begin, int64_t end)>& run);

// Checks a decode spec against a model; throws eidetic::Error saying what is wrong.
void validate_spec(const DecodeSpec& spec, const ModelConfig& config);

}  // namespace eidetic::models
