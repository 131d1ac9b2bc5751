// models/trainer.h: training small causal LMs from scratch, for the memorization lab.
//
// The lab plants canaries and duplicates in a corpus, trains a small model on it and then attacks
// that model, so the trainer must be reproducible: the data order is a function of the seed
// alone, a run on the CPU is bitwise deterministic, and a run resumed from a checkpoint ends with
// the same weights as one that never stopped. Model::forward is plain ATen ops, so setting
// requires_grad on the weights (Model::parameters) is all autograd needs; there is no separate
// training model.
//
// Recipe: AdamW (PyTorch's fused kernel; decoupled weight decay on matrices, i.e. embeddings,
// projections and an untied head, none on norms and biases), gradient clipping by global norm,
// linear warmup then cosine decay, cross-entropy on float32 logits. On CUDA the forward pass runs
// under bf16 autocast with float32 master weights; on the CPU everything is float32.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"

namespace eidetic::models {

struct TrainOptions {
  int64_t steps = 1000;            // optimizer steps
  int64_t batch_size = 16;         // sequences per step
  int64_t seq_len = 128;           // tokens per sequence (each sample is seq_len + 1 tokens: inputs and shifted targets)
  double lr = 3e-3, min_lr_ratio = 0.1;  // cosine from lr to lr*min_lr_ratio after warmup
  int64_t warmup_steps = 50;
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double grad_clip = 1.0;          // global norm (0: no clipping)
  uint64_t seed = 0;
  std::string device = "cpu";      // "cpu" or "cuda"
  bool bf16_autocast = true;       // on CUDA only; CPU trains in fp32
  int64_t checkpoint_every = 0;    // 0: only at the end
  std::filesystem::path checkpoint_dir;  // where checkpoints go (empty: none)
  int64_t log_every = 50;
  // Training to a plateau: with patience P > 0, `steps` is a cap, the learning rate stays at
  // `lr` after warm-up (a cosine needs an end), and training stops at the first loss report
  // after which the last P reports have not improved on the best earlier one by
  // plateau_min_delta nats per token (training_plateau). Absolute, not relative: on data of
  // high entropy (random tokens) the loss stays near its floor while the model keeps learning.
  // Every report must see as many steps: log_every > 0.
  int64_t plateau_patience = 0;
  double plateau_min_delta = 0.001;
};

struct TrainProgress {
  int64_t step, steps;   // optimizer steps done, and planned
  double loss;           // mean training loss (nats/token) over the steps since the last report
  double lr;             // learning rate of the last step
  double tokens_per_s;   // since this call started
  double elapsed_s;      // since this call started
};

struct TrainResult {
  std::vector<std::pair<int64_t, double>> loss_curve;  // (step, loss) at every report
  double final_loss = 0;     // the last report's loss
  double seconds = 0;        // wall time of this call
  double tokens_per_s = 0;   // trained tokens (inputs) per second in this call
  int64_t steps_done = 0;    // optimizer steps done in total (resumed ones included)
  int64_t resumed_from = 0;  // the checkpoint's step, 0 when starting fresh
  bool plateau = false;      // stopped at a plateau (plateau_patience > 0) before the cap
};

// Whether a loss curve has reached its plateau: more than `patience` reports, and the best of
// the last `patience` is above the best before them minus min_delta. A pure function of the
// curve, so a resumed run stops where an uninterrupted one does.
bool training_plateau(const std::vector<std::pair<int64_t, double>>& curve, int64_t patience, double min_delta);

// Trains `model` (float32, on options.device) in place on one stream of token ids (documents
// already joined with separators by the caller).
//
// Data: each epoch the stream is cut into chunks of seq_len + 1 tokens (consecutive and
// non-overlapping; when the stream's length is not a multiple, one more chunk ends at the
// stream's last token, so every token is in some chunk of every epoch), the chunks are shuffled
// by a permutation that depends only on (seed, epoch) (training_chunk_order), and they are
// consumed batch_size at a time, a batch running over into the next epoch when an epoch's
// chunks do not divide evenly. Steps run through as many epochs as needed.
//
// Progress is reported after every log_every steps and after the last one. With a
// checkpoint_dir, a checkpoint (weights, AdamW moments, step, the loss reports so far and the
// loss summed since the last one) is written atomically every checkpoint_every steps and at the
// end, after that step's report; if the folder already holds one, training resumes from it (the
// caller's weights are replaced) and ends with the same weights and the same loss curve as an
// uninterrupted run (bitwise on the CPU, with the same thread count). Resuming
// checks that seed, batch size, sequence length, stream and architecture match; `steps` may
// differ (the schedule then follows the new total). After training the weights no longer
// require gradients, so the model serves inference as any other.
TrainResult train_model(Model& model, const std::vector<int64_t>& stream, const TrainOptions& options,
                        const std::function<void(const TrainProgress&)>& progress = {});

// A freshly initialized model for training: models::random_model(config, device, float32, seed)
// rescaled as GPT-NeoX/Llama initialize: every matrix N(0, 0.02), output projections (attention
// out, MLP down) N(0, 0.02 / sqrt(2 * layers)), norms one, biases zero.
Model new_training_model(const ModelConfig& config, const TrainOptions& options);

// Saves a Hugging Face model folder: config.json (to_hf_config_json, with "torch_dtype":
// "float32" and architectures), model.safetensors (hf_state_dict, float32), and tokenizer.json
// when given (the caller passes its text). transformers' AutoModelForCausalLM.from_pretrained(dir)
// loads it as is; so does load_model. Files are written atomically (models/export.cpp).
void save_hf_model(const Model& model, const std::filesystem::path& dir, const std::string& tokenizer_json = "");

// The learning rate of optimizer step `step` (0-based): linear warmup lr * (step + 1) / warmup
// over the first warmup_steps steps, then cosine from lr at step warmup_steps down to
// lr * min_lr_ratio at the last step (steps - 1).
double training_lr(const TrainOptions& options, int64_t step);

// The order in which epoch `epoch` visits `chunks` chunks: a permutation of 0..chunks-1 that
// depends only on (seed, epoch) (a Fisher-Yates shuffle drawing from kernels::random_bits).
std::vector<int64_t> training_chunk_order(uint64_t seed, int64_t epoch, int64_t chunks);

// Where each chunk of seq_len + 1 tokens starts in a stream of `stream_size` tokens (see
// train_model's data rule).
std::vector<int64_t> training_chunk_starts(int64_t stream_size, int64_t seq_len);

}  // namespace eidetic::models
