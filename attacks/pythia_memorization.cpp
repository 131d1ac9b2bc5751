// attacks/pythia_memorization.cpp: the memorization score of Biderman et al. 2023 ("Emergent
// and Predictable Memorization in Large Language Models"), as computed for the Pythia suite.
//
// For each training sequence (a row of a Megatron dataset, Pythia's pre-shuffled Pile), tokens
// 0..31 are the prompt and the model decodes greedily to 64 tokens; the score is the fraction
// of positions 32..63 where the generated token equals the training token (position by
// position, not a prefix match), and a sequence is memorized when its score is 1. Per-row
// scores go to results.jsonl; the summary gives the memorized fraction with a bootstrap
// interval, the mean score and the distribution of scores.
//
// As the reference (EleutherAI/pythia, predictable-memorization/eval_memorization.py) decodes
// with `min_length` = 64, the end-of-text token is suppressed for all 32 new tokens
// (`suppress_eos`, on by default); `checkpoint_step` evaluates the rows a checkpoint has seen,
// 0 .. step x 1024 - 1, as the reference does.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>

#include "attacks/attack.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "corpus/megatron.h"
#include "metrics/stats.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct PythiaParams {
  std::string dataset;
  int64_t start_row = 0, rows = 1000, context = 32, continuation = 32;
  int64_t checkpoint_step = 0, batch_sequences = 1024;
  bool suppress_eos = true;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const ParamTable<PythiaParams>& pythia_params() {
  using P = PythiaParams;
  static const ParamTable<P> table = {
      param<P>("dataset", &P::dataset, "", "PREFIX of the Megatron .bin/.idx pair", required),
      param<P>("start_row", &P::start_row, "0", "first row").at_least(0),
      param<P>("rows", &P::rows, "1000", "rows to score (0: to the end)").at_least(0),
      param<P>("context", &P::context, "32", "prompt tokens").at_least(1),
      param<P>("continuation", &P::continuation, "32", "tokens to reproduce").at_least(1),
      param<P>("checkpoint_step", &P::checkpoint_step, "0",
               "score the rows a checkpoint saw: 0 .. step x batch_sequences - 1 (0: start_row and rows)")
          .at_least(0),
      param<P>("batch_sequences", &P::batch_sequences, "1024", "sequences per training step (checkpoint_step)")
          .at_least(1),
      param<P>("suppress_eos", &P::suppress_eos, "true",
               "never decode end-of-text, as the reference's min_length does (false: it may be chosen)")};
  return table;
}

class PythiaMemorization : public Attack {
 public:
  // What `eidetic config attacks` and the reports say of the attack.
  static constexpr const char* kSummary =
      "memorization score over rows of a Megatron dataset: 32-token prompt, greedy to 64, fraction of "
      "tokens 32..63 reproduced (Biderman et al. 2023)";

  PythiaMemorization(Session& session, const PythiaParams& p) : session_(session) {
    const std::string& path = p.dataset;
    context_ = p.context;
    continuation_ = p.continuation;
    if (context_ < 1 || continuation_ < 1) throw Error("attack: context and continuation must be at least 1");
    const auto t0 = Clock::now();
    data_ = std::make_unique<corpus::MegatronDataset>(path);
    start_ = p.start_row;
    int64_t rows = p.rows;
    if (p.checkpoint_step > 0) {
      if (p.start_row != 0)
        throw Error("attack.checkpoint_step: it selects rows 0 .. step x batch_sequences - 1; start_row must stay 0");
      rows = p.checkpoint_step * p.batch_sequences;
      if (rows > data_->size())
        throw Error(path + ": checkpoint_step " + std::to_string(p.checkpoint_step) + " needs " + std::to_string(rows) +
                    " rows, the dataset has " + std::to_string(data_->size()));
    }
    // The deduplicated Pythia models were trained on the deduplicated Pile, the others on the
    // standard one; a mismatch measures sequences the model never saw. Names are the only clue.
    const bool model_dedup = lower(session.model_path()).find("dedup") != std::string::npos;
    const bool data_dedup = lower(path).find("dedup") != std::string::npos;
    if (model_dedup != data_dedup) {
      warnings_.push_back(std::string("the model ") + (model_dedup ? "is" : "is not") +
                          " named deduplicated and the dataset " + (data_dedup ? "is" : "is not") +
                          ": Pythia's deduplicated models saw the deduplicated Pile only, the others the standard Pile");
      std::cerr << "warning: " << warnings_.back() << "\n";
    }
    if (p.suppress_eos) {
      eos_ = session.model().config().eos_token_id;
      if (!eos_ && session.tokenizer()) eos_ = session.tokenizer()->eos_id();
      if (!eos_) {  // nothing to suppress; say so rather than claim the reference's protocol
        warnings_.push_back("suppress_eos: the model names no end-of-text token (neither config.json nor its "
                            "tokenizer), so none was suppressed");
        std::cerr << "warning: " << warnings_.back() << "\n";
      }
    }
    checkpoint_step_ = p.checkpoint_step;
    protocol_ = eos_ ? "end-of-text (id " + std::to_string(*eos_) + ") suppressed, as the reference's min_length"
                     : p.suppress_eos ? "no end-of-text token known: nothing suppressed"
                                      : "end-of-text allowed (suppress_eos: false)";
    if (start_ < 0 || start_ >= data_->size())
      throw Error(path + ": start_row " + std::to_string(start_) + " is past its " + std::to_string(data_->size()) + " rows");
    count_ = rows > 0 ? std::min(rows, data_->size() - start_) : data_->size() - start_;
    vocab_ = session.vocab_size();
    path_ = path;
    session.profile().add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
    batch_ = session.batch_items(context_ + continuation_);
  }

  int64_t item_count() const override { return count_; }
  int64_t batch_items() const override { return batch_; }

  std::vector<json> run_batch(const std::vector<int64_t>& ids) override {
    std::vector<std::vector<int64_t>> prompts, truths;
    std::vector<int64_t> kept;
    std::vector<json> records;
    for (int64_t id : ids) {
      const int64_t row = start_ + id;
      if (data_->length(row) < context_ + continuation_) {
        records.push_back({{"id", id}, {"row", row}, {"skipped", "shorter than context + continuation"}});
        continue;
      }
      auto tokens = data_->sequence(row, 0, context_ + continuation_);
      for (int64_t t : tokens)
        if (t < 0 || t >= vocab_)
          throw Error(path_ + " row " + std::to_string(row) + ": token id " + std::to_string(t) +
                      " is outside the model's vocabulary of " + std::to_string(vocab_));
      prompts.emplace_back(tokens.begin(), tokens.begin() + context_);
      truths.emplace_back(tokens.begin() + context_, tokens.end());
      kept.push_back(id);
    }
    if (prompts.empty()) return records;
    models::DecodeSpec spec;
    spec.max_new_tokens = continuation_;
    spec.suppress_token = eos_;
    const auto generated = session_.generate(prompts, spec);
    const auto t0 = Clock::now();
    for (size_t i = 0; i < kept.size(); ++i) {
      const auto& g = generated[i].tokens;
      int64_t same = 0;
      for (int64_t j = 0; j < continuation_ && j < static_cast<int64_t>(g.size()); ++j) same += g[j] == truths[i][j];
      const double score = static_cast<double>(same) / static_cast<double>(continuation_);
      records.push_back({{"id", kept[i]}, {"row", start_ + kept[i]}, {"score", score}, {"memorized", same == continuation_}});
    }
    session_.profile().add("match", std::chrono::duration<double>(Clock::now() - t0).count());
    return records;
  }

  json summarize(const std::vector<json>& records) const override {
    std::vector<double> memorized, scores;
    std::vector<int64_t> histogram(static_cast<size_t>(continuation_) + 1, 0);
    for (const auto& r : records) {
      if (!r.contains("score")) continue;
      const double s = r.at("score").get<double>();
      scores.push_back(s);
      memorized.push_back(r.at("memorized").get<bool>() ? 1.0 : 0.0);
      ++histogram[static_cast<size_t>(std::llround(s * static_cast<double>(continuation_)))];
    }
    json points = json::array();
    for (size_t k = 0; k < histogram.size(); ++k)
      points.push_back({static_cast<double>(k) / static_cast<double>(continuation_), histogram[k]});
    json run = {{"items", scores.size()},
                {"protocol", protocol_},
                {"first_row", start_},
                {"rows", count_}};
    if (checkpoint_step_ > 0) run["checkpoint_step"] = checkpoint_step_;
    if (!warnings_.empty()) run["warnings"] = warnings_;
    json out = {{"run", run}, {"tables", json::array()}};
    out["metrics"] = {
        metric_json("memorized_fraction", metrics::bootstrap_mean(memorized, 1000, 0.95, session_.seed()),
                    "fraction of sequences with memorization score 1 (all continuation tokens reproduced)"),
        metric_json("mean_memorization_score", metrics::bootstrap_mean(scores, 1000, 0.95, session_.seed() + 1),
                    "mean fraction of continuation positions reproduced")};
    out["plots"] = {{{"id", "score_distribution"},
                     {"title", "Distribution of memorization scores"},
                     {"kind", "bar"},
                     {"x_label", "memorization score"},
                     {"y_label", "sequences"},
                     {"series", {{{"name", "sequences"}, {"points", points}}}}}};
    return out;
  }

 private:
  Session& session_;
  std::unique_ptr<corpus::MegatronDataset> data_;
  std::string path_;
  int64_t context_ = 32, continuation_ = 32, start_ = 0, count_ = 0, vocab_ = 0, batch_ = 1;
  int64_t checkpoint_step_ = 0;
  std::optional<int64_t> eos_;  // suppressed while decoding
  std::vector<std::string> warnings_;
  std::string protocol_;
};


}  // namespace

AttackInfo pythia_memorization_info() { return make_attack_info<PythiaMemorization>("pythia-memorization", pythia_params()); }

}  // namespace eidetic::attacks
