// attacks/session.cpp: see session.h.
#include "attacks/session.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/ScalarType.h>

#include <algorithm>
#include <chrono>

#include "common/error.h"
#include "models/model.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {

OpenModel::OpenModel() = default;
OpenModel::OpenModel(OpenModel&&) noexcept = default;
OpenModel& OpenModel::operator=(OpenModel&&) noexcept = default;
OpenModel::~OpenModel() = default;

namespace {

int64_t longest(const std::vector<std::vector<int64_t>>& rows) {
  int64_t n = 0;
  for (const auto& r : rows) n = std::max<int64_t>(n, static_cast<int64_t>(r.size()));
  return n;
}

int64_t element_bytes(const models::Model& m) { return static_cast<int64_t>(c10::elementSize(m.dtype())); }

}  // namespace

Session::Session(OpenModel target, OpenModel reference, std::optional<int64_t> batch_size, models::Ceilings ceilings,
                 uint64_t seed, std::filesystem::path run_dir)
    : target_(std::move(target)),
      reference_(std::move(reference)),
      batch_size_(batch_size),
      ceilings_(ceilings),
      seed_(seed),
      run_dir_(std::move(run_dir)) {}

Session::~Session() = default;

int64_t Session::vocab_size() const { return target_.model->config().vocab_size; }
int64_t Session::reference_vocab_size() const { return reference_.model->config().vocab_size; }

bool Session::reference_shares_tokenizer() const {
  if (shares_tokenizer_) return *shares_tokenizer_;
  const tok::Tokenizer *a = target_.tokenizer.get(), *b = reference_.tokenizer.get();
  bool same = a && b;
  if (same && a != b) {
    same = a->kind() == b->kind() && a->vocab_size() == b->vocab_size() && a->bos_id() == b->bos_id() &&
           a->eos_id() == b->eos_id();
    // An id a vocabulary leaves out (a gap below its largest id) decodes to nothing on both.
    auto text = [](const tok::Tokenizer& t, int64_t id) -> std::optional<std::string> {
      try {
        return t.decode({id});
      } catch (const Error&) {
        return std::nullopt;
      }
    };
    for (int64_t id = 0; same && id < a->vocab_size(); ++id) same = text(*a, id) == text(*b, id);
  }
  shares_tokenizer_ = same;
  return same;
}

std::vector<models::Generated> Session::generate(const std::vector<std::vector<int64_t>>& prompts,
                                                 const models::DecodeSpec& spec) {
  models::Engine& engine = *target_.engine;
  const auto before = engine.stats();
  auto out = engine.generate(prompts, spec);
  const auto& after = engine.stats();
  profile_.add("prefill", after.prefill_seconds - before.prefill_seconds);
  profile_.add("decode", after.decode_seconds - before.decode_seconds);
  profile_.generated_tokens += after.generated_tokens - before.generated_tokens;
  profile_.sequences += static_cast<int64_t>(out.size());
  const int64_t rows = static_cast<int64_t>(prompts.size()) *
                       (spec.mode == models::DecodeSpec::Mode::sample ? spec.num_samples
                        : spec.mode == models::DecodeSpec::Mode::beam ? spec.beam_width
                                                                       : 1);
  profile_.floor_seconds += models::generation_floor(model().config(), element_bytes(model()), rows, longest(prompts),
                                                     spec.max_new_tokens, ceilings_)
                                .seconds;
  return out;
}

std::vector<models::Scored> Session::score_with(OpenModel& m, const std::vector<std::vector<int64_t>>& sequences,
                                                bool entropy, bool rank) {
  models::Engine& engine = *m.engine;
  const auto before = engine.stats();
  auto out = engine.score(sequences, entropy, rank);
  const auto& after = engine.stats();
  profile_.add("score", after.score_seconds - before.score_seconds);
  profile_.scored_tokens += after.scored_tokens - before.scored_tokens;
  profile_.floor_seconds += models::scoring_floor(m.model->config(), element_bytes(*m.model),
                                                  static_cast<int64_t>(sequences.size()), longest(sequences), ceilings_)
                                .seconds;
  return out;
}

std::vector<models::Scored> Session::score(const std::vector<std::vector<int64_t>>& sequences, bool entropy, bool rank) {
  return score_with(target_, sequences, entropy, rank);
}

std::vector<models::Scored> Session::score_reference(const std::vector<std::vector<int64_t>>& sequences) {
  return score_with(reference_, sequences, false, false);
}

std::vector<TokenStats> Session::token_stats(const std::vector<std::vector<int64_t>>& sequences) {
  const auto t0 = std::chrono::steady_clock::now();
  const models::Model& m = model();
  std::vector<TokenStats> out;
  at::NoGradGuard no_grad;
  for (const auto& s : sequences) {
    const at::Tensor ids = at::tensor(s, at::kLong).unsqueeze(0).to(m.device());
    const at::Tensor logp = at::log_softmax(m.logits(m.forward(ids, at::Tensor(), nullptr))[0].to(at::kFloat), -1);  // (T, V)
    const at::Tensor p = logp.exp();
    const at::Tensor mu = (p * logp).sum(-1);
    // E[(log p - mu)^2], not E[(log p)^2] - mu^2: the difference of two nearly equal sums
    // (~30 each for a flat 256-token distribution) loses four digits of a float32 variance.
    const at::Tensor sigma = (p * (logp - mu.unsqueeze(-1)).square()).sum(-1).clamp_min(1e-12).sqrt();
    const int64_t T = ids.size(1);
    const at::Tensor target = logp.slice(0, 0, T - 1).gather(-1, ids[0].slice(0, 1).unsqueeze(-1)).squeeze(-1);
    auto to_vec = [](const at::Tensor& t) {
      const at::Tensor d = t.cpu().to(at::kDouble).contiguous();
      return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
    };
    out.push_back({to_vec(target), to_vec(mu.slice(0, 0, T - 1)), to_vec(sigma.slice(0, 0, T - 1))});
    profile_.scored_tokens += T - 1;
  }
  profile_.add("score", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return out;
}

int64_t Session::batch_items(int64_t tokens, int64_t rows_per_item) const {
  const int64_t rows = batch_size_ ? *batch_size_ : target_.engine->auto_batch_rows(tokens);
  return std::max<int64_t>(1, rows / std::max<int64_t>(rows_per_item, 1));
}

}  // namespace eidetic::attacks
