// models/engine.cpp: batching, prefill, decode loops (eager and CUDA graph), beam search,
// scoring, automatic batch size and out-of-memory back-off. See engine.h.
#include "models/engine.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>

#include "common/error.h"
#include "kernels/torch_ops.h"

#if EIDETIC_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace eidetic::models {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void synchronize(const at::Device& device) {
#if EIDETIC_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
}

void release_cached_memory(const at::Device& device) {
#if EIDETIC_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

int64_t width_of(const DecodeSpec& spec) {
  switch (spec.mode) {
    case DecodeSpec::Mode::greedy: return 1;
    case DecodeSpec::Mode::sample: return spec.num_samples;
    case DecodeSpec::Mode::beam: return spec.beam_width;
  }
  return 1;
}

// Rows of a forked cache: each of P rows repeated `width` times, in place of the original.
void fork_cache(KVCache& cache, int64_t width) {
  if (width == 1) return;
  for (auto& k : cache.keys) k = k.repeat_interleave(width, 0);
  for (auto& v : cache.values) v = v.repeat_interleave(width, 0);
  cache.key_valid = cache.key_valid.repeat_interleave(width, 0);
  cache.next_position = cache.next_position.repeat_interleave(width, 0);
}

void reorder_cache(KVCache& cache, const at::Tensor& rows) {
  for (auto& k : cache.keys) k = k.index_select(0, rows);
  for (auto& v : cache.values) v = v.index_select(0, rows);
  cache.key_valid = cache.key_valid.index_select(0, rows);
  cache.next_position = cache.next_position.index_select(0, rows);
}

// Checks that every sequence has at least `min_tokens` tokens, all inside the vocabulary, and
// returns the longest length. Errors name the sequence: `what` i `too_short`, or `what` i has
// token id X outside the vocabulary.
int64_t check_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t vocab_size, const std::string& what,
                        size_t min_tokens, const std::string& too_short) {
  int64_t longest = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    if (sequences[i].size() < min_tokens) throw Error(what + " " + std::to_string(i) + too_short);
    for (int64_t id : sequences[i])
      if (id < 0 || id >= vocab_size)
        throw Error(what + " " + std::to_string(i) + " has token id " + std::to_string(id) +
                    " outside the vocabulary of " + std::to_string(vocab_size));
    longest = std::max<int64_t>(longest, static_cast<int64_t>(sequences[i].size()));
  }
  return longest;
}

// Indices of `sequences`, shortest first (ties in input order): batches of similar lengths pad little.
std::vector<int64_t> shortest_first(const std::vector<std::vector<int64_t>>& sequences) {
  std::vector<int64_t> order(sequences.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return sequences[a].size() < sequences[b].size(); });
  return order;
}

}  // namespace

void run_in_batches(int64_t count, int64_t per_batch, const at::Device& device, const std::string& single_item_error,
                    const std::function<void(int64_t, int64_t)>& run) {
  per_batch = std::max<int64_t>(1, per_batch);
  int64_t next = 0;
  while (next < count) {
    const int64_t end = std::min(count, next + per_batch);
    try {
      run(next, end);
    } catch (const c10::OutOfMemoryError&) {
      if (per_batch == 1) throw Error(single_item_error);
      per_batch = std::max<int64_t>(1, per_batch / 2);
      release_cached_memory(device);
      continue;  // the same items again, in smaller batches; results are identical
    }
    next = end;
  }
}

void validate_spec(const DecodeSpec& spec, const ModelConfig& config) {
  if (spec.max_new_tokens < 1) throw Error("decode: max_new_tokens must be at least 1");
  if (spec.num_samples < 1) throw Error("decode: num_samples must be at least 1");
  if (spec.mode != DecodeSpec::Mode::sample && spec.num_samples != 1)
    throw Error("decode: num_samples > 1 needs sampling (greedy and beam search are deterministic)");
  if (spec.beam_width < 1) throw Error("decode: beam_width must be at least 1");
  if (spec.mode == DecodeSpec::Mode::beam && spec.beam_width > config.vocab_size)
    throw Error("decode: beam_width exceeds the vocabulary");
  const auto& s = spec.sampling;
  if (spec.mode == DecodeSpec::Mode::sample) {
    if (!(s.temperature_end >= 0.f) || !(s.temperature_start >= 0.f)) throw Error("decode: temperatures must be >= 0");
    if (s.temperature_steps < 0) throw Error("decode: temperature_steps must be >= 0");
    if (s.top_k < 0) throw Error("decode: top_k must be >= 0 (0 turns it off)");
    if (!(s.top_p > 0.f && s.top_p <= 1.f)) throw Error("decode: top_p must be in (0, 1]");
  }
  if (spec.stop_token && (*spec.stop_token < 0 || *spec.stop_token >= config.vocab_size))
    throw Error("decode: stop token " + std::to_string(*spec.stop_token) + " is outside the vocabulary");
  if (spec.suppress_token && (*spec.suppress_token < 0 || *spec.suppress_token >= config.vocab_size))
    throw Error("decode: suppressed token " + std::to_string(*spec.suppress_token) + " is outside the vocabulary");
  if (spec.suppress_token && spec.stop_token && *spec.suppress_token == *spec.stop_token)
    throw Error("decode: the stop token cannot also be suppressed");
}

namespace {
// Rows of logits (.., V) never choose the suppressed token. An in-place fill of one column:
// graph-capturable, and the same on every device.
void suppress(at::Tensor& logits, const DecodeSpec& spec) {
  if (spec.suppress_token) logits.select(-1, *spec.suppress_token).fill_(-std::numeric_limits<float>::infinity());
}
}  // namespace

Engine::Engine(const Model& model, EngineOptions options) : model_(model), options_(options) {}

int64_t Engine::auto_batch_rows(int64_t capacity) const {
  const auto& c = model_.config();
  if (!model_.device().is_cuda()) return std::min<int64_t>(options_.max_batch_size, 64);
  int64_t free_bytes = 0;
#if EIDETIC_WITH_CUDA
  size_t free = 0, total = 0;
  const c10::cuda::CUDAGuard guard(model_.device());
  if (cudaMemGetInfo(&free, &total) == cudaSuccess) free_bytes = static_cast<int64_t>(free);
#endif
  const int64_t elem = static_cast<int64_t>(c10::elementSize(model_.dtype()));
  const int64_t kv = 2 * c.num_layers * c.num_kv_heads * c.head_dim * capacity * elem;
  const int64_t logits = c.vocab_size * (elem + 8);
  const int64_t activations = capacity * (8 * c.hidden_size + 2 * c.intermediate_size) * elem +
                              c.num_heads * capacity * capacity * 4;
  const int64_t per_row = kv + logits + activations;
  const auto rows = static_cast<int64_t>(options_.memory_fraction * static_cast<double>(free_bytes) /
                                         static_cast<double>(std::max<int64_t>(per_row, 1)));
  return std::clamp<int64_t>(rows, 1, options_.max_batch_size);
}

struct Engine::Batch {
  int64_t prompts = 0;       // prompts in this batch
  int64_t width = 1;         // rows per prompt: samples, or beams
  int64_t rows = 0;          // prompts * width
  int64_t prompt_len = 0;    // padded (left) prompt length
  KVCache cache;
  at::Tensor streams;        // (rows) int64
  at::Tensor first_logits;   // (prompts, V) logits after the prompt, model dtype
  at::Tensor tokens;         // (rows, N) int64 result
  at::Tensor logprobs;       // (rows, N) float32 result
};

std::vector<Generated> Engine::generate(const std::vector<std::vector<int64_t>>& prompts, const DecodeSpec& spec) {
  const auto& c = model_.config();
  validate_spec(spec, c);
  const int64_t width = width_of(spec);
  const int64_t results_per_prompt = spec.mode == DecodeSpec::Mode::beam ? 1 : width;
  std::vector<Generated> out(prompts.size() * static_cast<size_t>(results_per_prompt));
  if (prompts.empty()) return out;
  if (!spec.prompt_ids.empty() && spec.prompt_ids.size() != prompts.size())
    throw Error("generate: prompt_ids has " + std::to_string(spec.prompt_ids.size()) + " entries for " +
                std::to_string(prompts.size()) + " prompts");
  const int64_t longest = check_sequences(prompts, c.vocab_size, "generate: prompt", 1, " is empty");
  if (longest + spec.max_new_tokens > c.max_positions)
    throw Error("generate: prompts of " + std::to_string(longest) + " tokens plus " +
                std::to_string(spec.max_new_tokens) + " new tokens exceed the model's " +
                std::to_string(c.max_positions) + " positions");
  const std::vector<int64_t> order = shortest_first(prompts);
  const int64_t rows = options_.batch_size > 0 ? options_.batch_size : auto_batch_rows(longest + spec.max_new_tokens);
  run_in_batches(static_cast<int64_t>(order.size()), rows / width, model_.device(),
                 "generate: out of device memory even for a single prompt", [&](int64_t begin, int64_t end) {
                   generate_batch(prompts, std::vector<int64_t>(order.begin() + begin, order.begin() + end), spec, out);
                 });
  return out;
}

void Engine::generate_batch(const std::vector<std::vector<int64_t>>& prompts, const std::vector<int64_t>& order,
                            const DecodeSpec& spec, std::vector<Generated>& out) {
  const at::Device device = model_.device();
  Batch b;
  b.prompts = static_cast<int64_t>(order.size());
  b.width = width_of(spec);
  b.rows = b.prompts * b.width;
  for (int64_t p : order) b.prompt_len = std::max<int64_t>(b.prompt_len, static_cast<int64_t>(prompts[p].size()));

  // Left-padded prompts and their mask.
  at::Tensor ids = at::zeros({b.prompts, b.prompt_len}, at::kLong);
  at::Tensor mask = at::zeros({b.prompts, b.prompt_len}, at::kBool);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<bool, 2>();
  for (int64_t i = 0; i < b.prompts; ++i) {
    const auto& p = prompts[order[i]];
    const int64_t pad = b.prompt_len - static_cast<int64_t>(p.size());
    for (size_t j = 0; j < p.size(); ++j) {
      ids_a[i][pad + static_cast<int64_t>(j)] = p[j];
      mask_a[i][pad + static_cast<int64_t>(j)] = true;
    }
  }
  std::vector<int64_t> stream_ids(static_cast<size_t>(b.rows));
  for (int64_t i = 0; i < b.prompts; ++i) {
    const int64_t id = spec.prompt_ids.empty() ? order[i] : spec.prompt_ids[static_cast<size_t>(order[i])];
    for (int64_t s = 0; s < b.width; ++s) stream_ids[i * b.width + s] = id * b.width + s;
  }
  b.streams = at::tensor(stream_ids, at::kLong).to(device);

  auto t0 = Clock::now();
  b.cache = model_.new_cache(b.prompts, b.prompt_len + spec.max_new_tokens);
  const at::Tensor hidden = model_.forward(ids.to(device), mask.to(device), &b.cache);
  b.first_logits = model_.logits_native(hidden.select(1, b.prompt_len - 1));
  suppress(b.first_logits, spec);
  synchronize(device);
  stats_.prefill_seconds += seconds_since(t0);

  t0 = Clock::now();
  if (spec.mode == DecodeSpec::Mode::beam) {
    decode_beam(b, spec);
  } else {
    fork_cache(b.cache, b.width);
    decode_sampled(b, spec);
  }
  const at::Tensor tokens = b.tokens.cpu();
  const at::Tensor logprobs = b.logprobs.cpu();
  stats_.decode_seconds += seconds_since(t0);

  const int64_t N = spec.max_new_tokens;
  const int64_t result_width = spec.mode == DecodeSpec::Mode::beam ? 1 : b.width;
  for (int64_t i = 0; i < b.prompts; ++i)
    for (int64_t s = 0; s < result_width; ++s) {
      const int64_t row = spec.mode == DecodeSpec::Mode::beam ? i : i * b.width + s;
      Generated& g = out[static_cast<size_t>(order[i] * result_width + s)];
      g.prompt = order[i];
      g.sample = s;
      const int64_t* t = tokens[row].const_data_ptr<int64_t>();
      const float* l = logprobs[row].const_data_ptr<float>();
      for (int64_t j = 0; j < N; ++j) {
        if (spec.stop_token && t[j] == *spec.stop_token) break;
        g.tokens.push_back(t[j]);
        g.logprobs.push_back(l[j]);
      }
      stats_.generated_tokens += static_cast<int64_t>(g.tokens.size());
    }
}

void Engine::decode_sampled(Batch& b, const DecodeSpec& spec) {
  const at::Device device = model_.device();
  const int64_t R = b.rows, N = spec.max_new_tokens;
  kernels::SampleParams params = spec.sampling;
  if (spec.mode == DecodeSpec::Mode::greedy) {
    params.temperature_start = params.temperature_end = 0.f;
    params.temperature_steps = 0;
  }
  const auto lopts = at::TensorOptions().device(device).dtype(at::kLong);
  b.tokens = at::empty({R, N}, lopts);
  b.logprobs = at::empty({R, N}, lopts.dtype(at::kFloat));
  at::Tensor step = at::zeros({1}, lopts);
  at::Tensor slot = at::full({1}, b.prompt_len, lopts);
  at::Tensor current = at::empty({R}, lopts);
  at::Tensor current_lp = at::empty({R}, lopts.dtype(at::kFloat));

  const at::Tensor first = b.width > 1 ? b.first_logits.repeat_interleave(b.width, 0) : b.first_logits;
  ops::sample_tokens_out(first, b.streams, step, params, current, current_lp);
  b.tokens.select(1, 0).copy_(current);
  b.logprobs.select(1, 0).copy_(current_lp);

  // One decoding step, entirely on the device: it reads and advances `step` and `slot`.
  auto step_fn = [&] {
    step.add_(1);
    const at::Tensor hidden = model_.decode_step(current, slot, b.cache);
    at::Tensor logits = model_.logits_native(hidden);
    suppress(logits, spec);
    ops::sample_tokens_out(logits, b.streams, step, params, current, current_lp);
    b.tokens.index_copy_(1, step, current.unsqueeze(1));
    b.logprobs.index_copy_(1, step, current_lp.unsqueeze(1));
    slot.add_(1);
  };
  auto all_stopped = [&](int64_t done) {
    return spec.stop_token && (b.tokens.slice(1, 0, done) == *spec.stop_token).any(1).all().item<bool>();
  };

  int64_t done = 1;
#if EIDETIC_WITH_CUDA
  if (device.is_cuda() && options_.cuda_graphs && N >= 3) {
    // Once per batch (graphs are not kept across batches): warm up (cuBLAS handles,
    // workspaces) with one real step on a side stream, capture the next step (capturing does
    // not run it), then replay the graph for that step and every one after it.
    c10::cuda::device_synchronize();
    const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device.index());
    {
      const c10::cuda::CUDAStreamGuard guard(side);
      step_fn();
      ++done;
      at::cuda::CUDAGraph graph;
      graph.capture_begin();
      step_fn();
      graph.capture_end();
      ++stats_.graph_captures;
      while (done < N) {
        graph.replay();
        ++done;
        if (done % 32 == 0 && done < N && all_stopped(done)) break;
      }
    }
    c10::cuda::device_synchronize();
    return;  // after an early stop the later columns stay unwritten: results end at the stop token
  }
#endif
  while (done < N) {
    step_fn();
    ++done;
    if (done % 16 == 0 && done < N && all_stopped(done)) break;
  }
  if (done < N) {  // every row has stopped: what follows the stop token is never read
    b.tokens.slice(1, done).fill_(*spec.stop_token);
    b.logprobs.slice(1, done).zero_();
  }
}

void Engine::decode_beam(Batch& b, const DecodeSpec& spec) {
  const at::Device device = model_.device();
  const int64_t P = b.prompts, W = b.width, N = spec.max_new_tokens;
  const int64_t V = model_.config().vocab_size;
  const auto lopts = at::TensorOptions().device(device).dtype(at::kLong);
  // First step: the W best tokens after the prompt.
  at::Tensor logp = at::log_softmax(b.first_logits.to(at::kFloat), -1);  // (P, V)
  auto [scores, tok] = at::topk(logp, W, -1);                              // (P, W)
  at::Tensor hist = tok.unsqueeze(-1);                                     // (P, W, 1)
  at::Tensor hist_lp = scores.unsqueeze(-1);
  fork_cache(b.cache, W);
  at::Tensor slot = at::full({1}, b.prompt_len, lopts);
  const at::Tensor base = (at::arange(P, lopts) * W).unsqueeze(1);  // (P, 1)
  for (int64_t s = 1; s < N; ++s) {
    const at::Tensor hidden = model_.decode_step(tok.reshape({P * W}), slot, b.cache);
    slot.add_(1);
    at::Tensor logits = model_.logits_native(hidden);
    suppress(logits, spec);
    logp = at::log_softmax(logits.to(at::kFloat), -1);   // (P*W, V)
    const at::Tensor total = (scores.reshape({P * W, 1}) + logp).reshape({P, W * V});
    auto [best, index] = at::topk(total, W, -1);                               // (P, W)
    const at::Tensor parent = at::floor_divide(index, V);
    tok = at::remainder(index, V);
    const at::Tensor rows = (base + parent).reshape({P * W});
    reorder_cache(b.cache, rows);
    const at::Tensor token_lp = logp.index_select(0, rows).gather(1, tok.reshape({P * W, 1})).reshape({P, W, 1});
    hist = at::cat({hist.reshape({P * W, -1}).index_select(0, rows).reshape({P, W, -1}), tok.unsqueeze(-1)}, -1);
    hist_lp = at::cat({hist_lp.reshape({P * W, -1}).index_select(0, rows).reshape({P, W, -1}), token_lp}, -1);
    scores = best;
  }
  // topk returns beams best first: beam 0 is the answer.
  b.tokens = hist.select(1, 0).contiguous();
  b.logprobs = hist_lp.select(1, 0).contiguous();
}

std::vector<Scored> Engine::score(const std::vector<std::vector<int64_t>>& sequences, bool entropy, bool rank) {
  const auto& c = model_.config();
  std::vector<Scored> out(sequences.size());
  if (sequences.empty()) return out;
  const int64_t longest = check_sequences(sequences, c.vocab_size, "score: sequence", 2, " has fewer than 2 tokens");
  if (longest > c.max_positions)
    throw Error("score: a sequence of " + std::to_string(longest) + " tokens exceeds the model's " +
                std::to_string(c.max_positions) + " positions");
  const std::vector<int64_t> order = shortest_first(sequences);
  const int64_t rows = options_.batch_size > 0 ? options_.batch_size : auto_batch_rows(longest);
  run_in_batches(static_cast<int64_t>(order.size()), rows, model_.device(),
                 "score: out of device memory even for a single sequence", [&](int64_t begin, int64_t end) {
                   score_batch(sequences, std::vector<int64_t>(order.begin() + begin, order.begin() + end), entropy,
                               rank, out);
                 });
  return out;
}

void Engine::score_batch(const std::vector<std::vector<int64_t>>& sequences, const std::vector<int64_t>& order,
                         bool entropy, bool rank, std::vector<Scored>& out) {
  const auto t0 = Clock::now();
  const int64_t V = model_.config().vocab_size;
  const int64_t B = static_cast<int64_t>(order.size());
  int64_t T = 0;
  for (int64_t i : order) T = std::max<int64_t>(T, static_cast<int64_t>(sequences[i].size()));
  // Right padding: causal attention keeps real tokens blind to it.
  at::Tensor ids = at::zeros({B, T}, at::kLong);
  auto a = ids.accessor<int64_t, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& s = sequences[order[i]];
    for (size_t j = 0; j < s.size(); ++j) a[i][static_cast<int64_t>(j)] = s[j];
  }
  const at::Tensor d_ids = ids.to(model_.device());
  const at::Tensor logits = model_.logits_native(model_.forward(d_ids, at::Tensor(), nullptr));  // (B, T, V)
  const at::Tensor targets = at::cat({d_ids.slice(1, 1), at::zeros({B, 1}, d_ids.options())}, 1);
  const auto scores = ops::token_logprobs(logits.reshape({B * T, V}), targets.reshape({B * T}), entropy, rank);
  const at::Tensor lp = scores.logprob.reshape({B, T}).cpu();
  const at::Tensor en = entropy ? scores.entropy.reshape({B, T}).cpu() : at::Tensor();
  const at::Tensor rk = rank ? scores.rank.reshape({B, T}).cpu() : at::Tensor();
  for (int64_t i = 0; i < B; ++i) {
    const int64_t n = static_cast<int64_t>(sequences[order[i]].size()) - 1;
    Scored& s = out[static_cast<size_t>(order[i])];
    const float* p = lp[i].const_data_ptr<float>();
    s.logprob.assign(p, p + n);
    if (entropy) s.entropy.assign(en[i].const_data_ptr<float>(), en[i].const_data_ptr<float>() + n);
    if (rank) s.rank.assign(rk[i].const_data_ptr<int64_t>(), rk[i].const_data_ptr<int64_t>() + n);
    stats_.scored_tokens += n;
  }
  stats_.score_seconds += seconds_since(t0);
}

}  // namespace eidetic::models
