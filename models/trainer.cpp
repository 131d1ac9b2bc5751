// models/trainer.cpp: the training loop (see trainer.h): data order, schedule, AdamW through
// PyTorch's fused kernel, clipping, bf16 autocast on CUDA, and resumable checkpoints.
#include "models/trainer.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cmath>
#include <numbers>
#include <numeric>
#include <iomanip>
#include <sstream>

#include "common/crash_point.h"
#include "common/error.h"
#include "kernels/rng.h"
#include "models/presets.h"
#include "models/safetensors.h"

namespace eidetic::models {
namespace {

constexpr uint64_t kShuffleStream = 0x747261696e696e67ull;  // the data order's random stream
constexpr const char* kStateFile = "trainer_state.safetensors";
constexpr const char* kStateFormat = "eidetic-trainer-1";

// bf16 autocast on CUDA for the forward pass, restoring the previous state on exit.
class CudaAutocast {
 public:
  explicit CudaAutocast(bool on) : on_(on) {
    if (!on_) return;
    prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~CudaAutocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
  }
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool on_;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

// Weights require gradients only while training, whichever way the loop is left.
class TrainingMode {
 public:
  explicit TrainingMode(std::vector<at::Tensor> params) : params_(std::move(params)) {
    for (auto& p : params_) p.requires_grad_(true);
  }
  ~TrainingMode() {
    for (auto& p : params_) {
      p.mutable_grad() = at::Tensor();
      p.requires_grad_(false);
    }
  }
  TrainingMode(const TrainingMode&) = delete;
  TrainingMode& operator=(const TrainingMode&) = delete;

 private:
  std::vector<at::Tensor> params_;
};

uint64_t stream_hash(const std::vector<int64_t>& stream) {
  uint64_t h = kernels::mix64(static_cast<uint64_t>(stream.size()));
  for (int64_t t : stream) h = kernels::mix64(h ^ static_cast<uint64_t>(t));
  return h;
}

// The checkpoint's identity: what must match for a resumed run to continue the same run.
std::map<std::string, std::string> run_identity(const Model& model, const std::vector<int64_t>& stream,
                                                const TrainOptions& o, int64_t n_params) {
  const ModelConfig& c = model.config();
  return {{"format", kStateFormat},
          {"seed", std::to_string(o.seed)},
          {"batch_size", std::to_string(o.batch_size)},
          {"seq_len", std::to_string(o.seq_len)},
          {"stream_tokens", std::to_string(stream.size())},
          {"stream_hash", std::to_string(stream_hash(stream))},
          {"family", family_name(c.family)},
          {"architecture", std::to_string(c.vocab_size) + "/" + std::to_string(c.hidden_size) + "/" +
                               std::to_string(c.num_layers) + "/" + std::to_string(c.num_heads) + "/" +
                               std::to_string(c.num_kv_heads) + "/" + std::to_string(c.intermediate_size)},
          {"parameters", std::to_string(n_params)},
          {"plateau", o.plateau_patience > 0 ? std::to_string(o.plateau_patience) + "/" +
                                                   std::to_string(o.plateau_min_delta) + "/" + std::to_string(o.log_every)
                                             : "off"}};
}

void check_options(const TrainOptions& o, const ModelConfig& c) {
  if (o.steps < 0) throw Error("training: steps must be >= 0, got " + std::to_string(o.steps));
  if (o.batch_size <= 0) throw Error("training: batch_size must be positive, got " + std::to_string(o.batch_size));
  if (o.seq_len <= 0) throw Error("training: seq_len must be positive, got " + std::to_string(o.seq_len));
  if (o.seq_len > c.max_positions)
    throw Error("training: seq_len " + std::to_string(o.seq_len) + " exceeds the model's " +
                std::to_string(c.max_positions) + " positions");
  if (!(o.lr > 0) || !(o.min_lr_ratio >= 0) || o.warmup_steps < 0)
    throw Error("training: lr must be positive, min_lr_ratio and warmup_steps non-negative");
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) || !(o.eps > 0) || !(o.weight_decay >= 0) ||
      !(o.grad_clip >= 0))
    throw Error("training: betas must lie in [0, 1), eps be positive, weight_decay and grad_clip non-negative");
  if (o.checkpoint_every < 0) throw Error("training: checkpoint_every must be >= 0");
  if (o.plateau_patience < 0 || !(o.plateau_min_delta >= 0))
    throw Error("training: plateau_patience and plateau_min_delta must be >= 0");
  if (o.plateau_patience > 0 && o.log_every <= 0)
    throw Error("training: a plateau is judged on loss reports; log_every must be positive");
}

}  // namespace

double training_lr(const TrainOptions& o, int64_t step) {
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  if (o.plateau_patience > 0) return o.lr;  // no known end to decay towards
  const double min_lr = o.lr * o.min_lr_ratio;
  const int64_t span = o.steps - 1 - o.warmup_steps;
  if (span <= 0) return o.lr;
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / static_cast<double>(span));
  return min_lr + 0.5 * (o.lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
}

bool training_plateau(const std::vector<std::pair<int64_t, double>>& curve, int64_t patience, double min_delta) {
  const auto n = static_cast<int64_t>(curve.size());
  if (patience <= 0 || n <= patience) return false;
  double before = curve[0].second, recent = curve[static_cast<size_t>(n - patience)].second;
  for (int64_t i = 0; i < n - patience; ++i) before = std::min(before, curve[static_cast<size_t>(i)].second);
  for (int64_t i = n - patience; i < n; ++i) recent = std::min(recent, curve[static_cast<size_t>(i)].second);
  return recent > before - min_delta;
}

std::vector<int64_t> training_chunk_order(uint64_t seed, int64_t epoch, int64_t chunks) {
  std::vector<int64_t> order(static_cast<size_t>(chunks));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (int64_t i = chunks - 1; i > 0; --i) {
    const uint64_t bits = kernels::random_bits(seed, kShuffleStream, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i));
    const auto j = static_cast<int64_t>(bits % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::vector<int64_t> training_chunk_starts(int64_t stream_size, int64_t seq_len) {
  const int64_t len = seq_len + 1;
  if (stream_size < len)
    throw Error("training: the token stream holds " + std::to_string(stream_size) +
                " tokens, fewer than one sample of seq_len + 1 = " + std::to_string(len));
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + len <= stream_size; s += len) starts.push_back(s);
  if (stream_size % len != 0) starts.push_back(stream_size - len);
  return starts;
}

Model new_training_model(const ModelConfig& config, const TrainOptions& options) {
  const at::Device device = parse_device(options.device);
  const Model base = random_model(config, device, at::kFloat, options.seed);
  const double out_scale = 1.0 / std::sqrt(2.0 * static_cast<double>(config.num_layers));
  auto is_output_projection = [](const std::string& name) {
    for (const char* suffix : {".attention.dense.weight", ".mlp.dense_4h_to_h.weight", ".self_attn.o_proj.weight",
                               ".mlp.down_proj.weight", ".attn.c_proj.weight", ".mlp.c_proj.weight",
                               ".attn.attention.out_proj.weight"}) {
      const std::string s(suffix);
      if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
    }
    return false;
  };
  TensorSet set;
  for (const auto& [name, t] : base.hf_state_dict()) {
    set.tensors[name] = is_output_projection(name) ? t * out_scale : t;
    set.source[name] = "initialization";
  }
  return build_model(config, set, "new training model", device, at::kFloat);
}

TrainResult train_model(Model& model, const std::vector<int64_t>& stream, const TrainOptions& o,
                        const std::function<void(const TrainProgress&)>& progress) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const ModelConfig& c = model.config();
  check_options(o, c);
  const at::Device device = parse_device(o.device);
  if (model.device().type() != device.type())
    throw Error("training: the model is on " + model.device().str() + ", options.device is '" + o.device + "'");
  if (model.dtype() != at::kFloat)
    throw Error("training: the model must hold float32 weights (master weights), it holds " +
                std::string(c10::toString(model.dtype())));
  for (size_t i = 0; i < stream.size(); ++i)
    if (stream[i] < 0 || stream[i] >= c.vocab_size)
      throw Error("training: token " + std::to_string(stream[i]) + " at position " + std::to_string(i) +
                  " of the stream is outside the vocabulary of " + std::to_string(c.vocab_size));
  const std::vector<int64_t> starts = training_chunk_starts(static_cast<int64_t>(stream.size()), o.seq_len);
  const auto n_chunks = static_cast<int64_t>(starts.size());
  const int64_t B = o.batch_size, T = o.seq_len, V = c.vocab_size;

  std::vector<at::Tensor> params = model.parameters();
  {
    // Own, contiguous memory for every weight: a loaded model's weights may view a read-only
    // file mapping. set_data keeps the tensors (and a tied head) the model's own.
    at::NoGradGuard no_grad;
    for (auto& p : params) p.set_data(p.detach().clone(at::MemoryFormat::Contiguous));
  }
  // AdamW state; matrices (embeddings, projections, an untied head) decay, norms and biases do not.
  std::vector<at::Tensor> exp_avg, exp_avg_sq, state_step;
  for (const auto& p : params) {
    exp_avg.push_back(at::zeros_like(p));
    exp_avg_sq.push_back(at::zeros_like(p));
    state_step.push_back(at::zeros({}, p.options()));
  }
  std::vector<size_t> decay, no_decay;
  for (size_t i = 0; i < params.size(); ++i) (params[i].dim() >= 2 ? decay : no_decay).push_back(i);

  const std::map<std::string, std::string> identity = run_identity(model, stream, o, static_cast<int64_t>(params.size()));
  const std::filesystem::path state_file = o.checkpoint_dir.empty() ? std::filesystem::path() : o.checkpoint_dir / kStateFile;

  TrainResult result;
  int64_t start_step = 0, resumed_losses = 0;
  at::Tensor resumed_loss_sum;
  if (!state_file.empty() && std::filesystem::exists(state_file)) {
    const TensorSet saved = read_safetensors(state_file);
    for (const auto& [key, value] : identity) {
      const auto it = saved.metadata.find(key);
      if (it == saved.metadata.end() || it->second != value)
        throw Error(state_file.string() + ": the checkpoint belongs to a different run (" + key + " is " +
                    (it == saved.metadata.end() ? std::string("missing") : "'" + it->second + "'") + ", this run has '" +
                    value + "')");
    }
    start_step = std::stoll(saved.metadata.at("step"));
    at::NoGradGuard no_grad;
    auto load = [&](const std::string& name, at::Tensor& dst) {
      const auto it = saved.tensors.find(name);
      if (it == saved.tensors.end() || !it->second.sizes().equals(dst.sizes()))
        throw Error(state_file.string() + ": tensor '" + name + "' is missing or has the wrong shape");
      dst.copy_(it->second);
    };
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string n = std::to_string(i);
      load("param." + n, params[i]);
      load("exp_avg." + n, exp_avg[i]);
      load("exp_avg_sq." + n, exp_avg_sq[i]);
      state_step[i].fill_(static_cast<double>(start_step));
    }
    result.resumed_from = start_step;
    // The loss reports so far, and the loss summed since the last one, so that the resumed
    // run reports the same curve as an uninterrupted one.
    if (const auto it = saved.metadata.find("loss_curve"); it != saved.metadata.end()) {
      std::istringstream in(it->second);
      int64_t at_step;
      double value;
      char sep;
      while (in >> at_step >> sep >> value) result.loss_curve.emplace_back(at_step, value);
      if (!result.loss_curve.empty()) result.final_loss = result.loss_curve.back().second;
    }
    if (const auto it = saved.metadata.find("losses"); it != saved.metadata.end()) resumed_losses = std::stoll(it->second);
    if (const auto it = saved.tensors.find("loss_sum"); it != saved.tensors.end()) resumed_loss_sum = it->second.clone();
  }

  at::Tensor loss_sum = at::zeros({}, at::TensorOptions().device(device).dtype(at::kFloat));
  int64_t losses = resumed_losses;
  if (resumed_loss_sum.defined()) loss_sum.copy_(resumed_loss_sum.reshape({}));
  auto save_checkpoint = [&](int64_t step) {
    std::error_code ec;
    std::filesystem::create_directories(o.checkpoint_dir, ec);
    if (ec) throw Error(o.checkpoint_dir.string() + ": cannot create the checkpoint folder (" + ec.message() + ")");
    std::map<std::string, at::Tensor> tensors;
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string n = std::to_string(i);
      tensors["param." + n] = params[i].detach();
      tensors["exp_avg." + n] = exp_avg[i];
      tensors["exp_avg_sq." + n] = exp_avg_sq[i];
    }
    tensors["loss_sum"] = loss_sum.detach().cpu().reshape({1});
    auto meta = identity;
    meta["step"] = std::to_string(step);
    meta["steps"] = std::to_string(o.steps);
    meta["losses"] = std::to_string(losses);
    std::ostringstream curve;  // "STEP:LOSS " pairs, each loss with every digit a double needs
    curve << std::setprecision(17);
    for (const auto& [at_step, value] : result.loss_curve) curve << at_step << ':' << value << ' ';
    meta["loss_curve"] = curve.str();
    write_safetensors(state_file, tensors, meta);  // atomic: temporary file renamed into place
  };

  TrainingMode training(params);
  auto pick = [](const std::vector<at::Tensor>& all, const std::vector<size_t>& idx) {
    std::vector<at::Tensor> out;
    for (size_t i : idx) out.push_back(all[i]);
    return out;
  };
  const std::vector<at::Tensor> p_decay = pick(params, decay), p_plain = pick(params, no_decay);
  const std::vector<at::Tensor> m_decay = pick(exp_avg, decay), m_plain = pick(exp_avg, no_decay);
  const std::vector<at::Tensor> v_decay = pick(exp_avg_sq, decay), v_plain = pick(exp_avg_sq, no_decay);
  const std::vector<at::Tensor> s_decay = pick(state_step, decay), s_plain = pick(state_step, no_decay);

  const bool autocast = device.is_cuda() && o.bf16_autocast;
  const at::Tensor host_batch = at::empty({B, T + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* host = host_batch.data_ptr<int64_t>();
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  double lr = 0;
  const auto t_train = clock::now();

  auto at_plateau = [&] {
    return o.plateau_patience > 0 && training_plateau(result.loss_curve, o.plateau_patience, o.plateau_min_delta);
  };
  int64_t end_step = o.steps;
  if (at_plateau()) end_step = start_step, result.plateau = true;  // resumed after the stop
  for (int64_t step = start_step; step < end_step; ++step) {
    lr = training_lr(o, step);
    for (int64_t r = 0; r < B; ++r) {
      const int64_t k = step * B + r;  // the k-th sample of the run
      const int64_t epoch = k / n_chunks;
      if (epoch != order_epoch) order = training_chunk_order(o.seed, epoch, n_chunks), order_epoch = epoch;
      const int64_t begin = starts[static_cast<size_t>(order[static_cast<size_t>(k % n_chunks)])];
      std::copy(stream.begin() + begin, stream.begin() + begin + T + 1, host + r * (T + 1));
    }
    const at::Tensor batch = host_batch.to(device);
    const at::Tensor inputs = batch.slice(1, 0, T), targets = batch.slice(1, 1, T + 1);

    at::Tensor loss;
    {
      CudaAutocast scope(autocast);
      const at::Tensor logits = model.logits(model.forward(inputs, at::Tensor(), nullptr));  // float32
      loss = at::cross_entropy_loss(logits.reshape({-1, V}), targets.reshape({-1}));
    }
    loss.backward();

    std::vector<at::Tensor> grads;
    for (auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    {
      at::NoGradGuard no_grad;
      if (o.grad_clip > 0) {
        const at::Tensor total = at::stack(at::_foreach_norm(grads, 2)).norm();
        const at::Tensor coef = (o.grad_clip / (total + 1e-6)).clamp_max(1.0);
        at::_foreach_mul_(grads, coef);
      }
      auto adamw = [&](const std::vector<at::Tensor>& p, const std::vector<size_t>& idx, const std::vector<at::Tensor>& m,
                       const std::vector<at::Tensor>& v, const std::vector<at::Tensor>& s, double wd) {
        if (p.empty()) return;
        at::_foreach_add_(s, 1);
        at::_fused_adamw_(p, pick(grads, idx), m, v, {}, s, lr, o.beta1, o.beta2, wd, o.eps, /*amsgrad=*/false,
                          /*maximize=*/false);
      };
      adamw(p_decay, decay, m_decay, v_decay, s_decay, o.weight_decay);
      adamw(p_plain, no_decay, m_plain, v_plain, s_plain, 0.0);
      for (auto& p : params) p.mutable_grad() = at::Tensor();
      loss_sum.add_(loss.detach());
      ++losses;
    }

    const int64_t done = step + 1;
    const bool report = (o.log_every > 0 && done % o.log_every == 0) || done == o.steps;
    double mean = 0;
    if (report) {
      mean = loss_sum.item<double>() / static_cast<double>(losses);
      if (!std::isfinite(mean))
        throw Error("training diverged: the loss is " + std::to_string(mean) + " at step " + std::to_string(done) +
                    " (lower the learning rate or raise warmup)");
      loss_sum.zero_();
      losses = 0;
      result.loss_curve.emplace_back(done, mean);
      result.final_loss = mean;
    }
    // After the step's loss report is recorded (so the checkpoint holds the curve up to this
    // step), before the caller hears of it (a caller that stops there finds the checkpoint).
    const bool stop = report && done < o.steps && at_plateau();
    if (!state_file.empty() && ((o.checkpoint_every > 0 && done % o.checkpoint_every == 0) || done == o.steps || stop))
      save_checkpoint(done);
    if (report && progress) {
      const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
      const double train_s = std::chrono::duration<double>(clock::now() - t_train).count();
      const double tokens = static_cast<double>((done - start_step) * B * T);
      progress(TrainProgress{done, o.steps, mean, lr, train_s > 0 ? tokens / train_s : 0.0, elapsed});
    }
    crash_point("train-step");
    if (stop) {
      end_step = done;
      result.plateau = true;
    }
  }

  result.steps_done = std::max(start_step, end_step);
  const double train_s = std::chrono::duration<double>(clock::now() - t_train).count();
  const double tokens = static_cast<double>(std::max<int64_t>(0, end_step - start_step) * B * T);
  result.tokens_per_s = train_s > 0 ? tokens / train_s : 0.0;
  result.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return result;
}

}  // namespace eidetic::models
