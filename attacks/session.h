// attacks/session.h: what a run hands its attacks: the opened models, tokenizers and profile.
//
// The harness opens one Session per run (harness/run.cpp, open_session): the target model with
// its engine, an optional reference model (`model.reference`, opened with the same device,
// dtype and engine options), their tokenizers, the measured roofline ceilings and the run's
// profile. Attacks never load a model themselves; every model call goes through the session,
// which times it in its phase (prefill, decode, score) and adds the work's roofline floor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "models/engine.h"
#include "models/roofline.h"

namespace eidetic::tok {
class Tokenizer;
}

namespace eidetic::attacks {

// Seconds spent per phase of a run (load, train, tokenize, index, prefill, decode, score, match,
// write), and the work done.
struct Profile {
  std::map<std::string, double> seconds;
  int64_t generated_tokens = 0;
  int64_t scored_tokens = 0;
  int64_t sequences = 0;
  double floor_seconds = 0;  // roofline floor of the work done (see models/roofline.h)
  void add(const std::string& phase, double s) { seconds[phase] += s; }
};

// Per position of a sequence, the mean and standard deviation of log p under the model's own
// next-token distribution, and the log-probability of the token that follows.
struct TokenStats {
  std::vector<double> logprob, mean, stddev;  // (T - 1) each
};

// A model with its engine and tokenizer (the tokenizer may be null when none is known).
struct OpenModel {
  std::unique_ptr<models::Model> model;
  std::unique_ptr<models::Engine> engine;
  std::unique_ptr<tok::Tokenizer> tokenizer;
  std::string path;
  OpenModel();
  OpenModel(OpenModel&&) noexcept;
  OpenModel& operator=(OpenModel&&) noexcept;
  ~OpenModel();
};

class Session {
 public:
  Session(OpenModel target, OpenModel reference, std::optional<int64_t> batch_size, models::Ceilings ceilings,
          uint64_t seed, std::filesystem::path run_dir);
  ~Session();

  const models::Model& model() const { return *target_.model; }
  const std::string& model_path() const { return target_.path; }  // as the config names it
  const tok::Tokenizer* tokenizer() const { return target_.tokenizer.get(); }
  int64_t vocab_size() const;
  bool has_reference() const { return reference_.model != nullptr; }
  const std::string& reference_path() const { return reference_.path; }
  int64_t reference_vocab_size() const;
  const tok::Tokenizer* reference_tokenizer() const { return reference_.tokenizer.get(); }
  // Whether the target's token ids mean the same to the reference: both have a tokenizer, and
  // either it is the same object or the two agree on kind, vocabulary size, BOS and EOS, and the
  // text of every id (the same tokenizer file, or a copy of it, beside each model). Only then may
  // the reference score the target's ids as they are; otherwise it reads text re-encoded with its
  // own tokenizer. Checked once (one decode per id) and remembered. A lone byte of a multi-byte
  // character decodes to U+FFFD in either, so two byte-level vocabularies that differed only in
  // the ids of such bytes would pass; no real pair of tokenizers does.
  bool reference_shares_tokenizer() const;

  uint64_t seed() const { return seed_; }
  const std::filesystem::path& run_dir() const { return run_dir_; }  // where an attack may write files of its own
  Profile& profile() { return profile_; }
  const models::Ceilings& ceilings() const { return ceilings_; }

  // The target's calls, timed.
  std::vector<models::Generated> generate(const std::vector<std::vector<int64_t>>& prompts, const models::DecodeSpec& spec);
  std::vector<models::Scored> score(const std::vector<std::vector<int64_t>>& sequences, bool entropy = false,
                                    bool rank = false);
  std::vector<TokenStats> token_stats(const std::vector<std::vector<int64_t>>& sequences);
  // The reference model's scores (has_reference() must hold), timed as scoring.
  std::vector<models::Scored> score_reference(const std::vector<std::vector<int64_t>>& sequences);

  // Items per batch: engine.batch_size when set, else what fits for sequences of `tokens`.
  int64_t batch_items(int64_t tokens, int64_t rows_per_item = 1) const;

 private:
  std::vector<models::Scored> score_with(OpenModel& m, const std::vector<std::vector<int64_t>>& sequences, bool entropy,
                                         bool rank);

  OpenModel target_, reference_;
  std::optional<int64_t> batch_size_;
  models::Ceilings ceilings_;
  uint64_t seed_;
  std::filesystem::path run_dir_;
  Profile profile_;
  mutable std::optional<bool> shares_tokenizer_;
};

}  // namespace eidetic::attacks
