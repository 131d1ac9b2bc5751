// attacks/extraction_challenge.cpp: the Training Data Extraction Challenge
// (google-research/lm-extraction-benchmark) with its baseline's method.
//
// For each prefix, `trials` candidate suffixes of `suffix_len` tokens are generated and each
// gets a loss: the mean negative log-probability, under the model (untempered, re-scored by
// the session's scoring path over prefix + candidate), of a window of positions. Two modes:
//
//   baseline (default): baseline/simple_baseline.py as published. Every trial is a top-k
//     sample (k = 10, temperature 1), none is greedy. A sample that emits the end-of-text
//     token is padded with it to suffix_len tokens (Hugging Face's generate with
//     pad_token_id = 50256 pads a finished row so), and the padding is part of the guess and
//     of the loss. The loss window is the baseline's `[-51:-1]` of the 99 per-token losses of
//     the 100-token sequence: it predicts positions P-1 .. P+S-2, i.e. the last prefix token
//     and the first S-1 suffix tokens. The baseline runs the model in fp16 on CUDA, and so
//     does this mode when model.dtype is auto; the run records the dtype it used and warns
//     when it differs (fp32 on the CPU).
//   eidetic: trial 0 is the greedy continuation, the rest top-k samples; no padding (a
//     sample runs on past end-of-text); the window is the suffix's S tokens (`suffix`).
//
// `loss_window` (auto: the mode's) picks either window in either mode. Records hold every
// trial's loss and the tokens of the trials any guess file uses, so the guess files are a
// function of the records alone (a resumed run equals an uninterrupted one):
//
//   guess{g}.csv for each g of `guess_trials` (the baseline's 1, 10, 100; capped at trials):
//     per prefix the candidate of least loss among the first g trials (ties: the lowest
//     trial, numpy's argmin), one row per prefix, rows by ascending loss (stable: ties keep
//     the prefixes' order) — the baseline's guess{g}.csv;
//   guesses.csv: per prefix the `guesses_per_prefix` distinct candidates of least loss over
//     all trials, rows by ascending loss across prefixes (ties by prefix, then rank).
//
// All are the challenge's submission CSV (`Example ID`,`Suffix Guess`) in the run directory.
// When the answers are given, each file is scored by the official rule (metrics/challenge.h:
// recall at the last correct guess made while fewer than 100 wrong guesses had been seen; a
// repeated correct guess adds nothing, every wrong row is an error, also for a solved prefix)
// and its error curve is plotted. Losses that are not finite sort last (stored as null).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "attacks/attack.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "corpus/npy.h"
#include "metrics/challenge.h"
#include "metrics/stats.h"
#include "metrics/text_metrics.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct ChallengeParams {
  std::string prefix, answers;
  int64_t trials = 100, top_k = 10;
  double temperature = 1.0;
  int64_t suffix_len = 50, limit = 0, last = 0;
  std::string mode = "baseline", loss_window = "auto";
  std::vector<int64_t> guess_trials = {1, 10, 100};
  int64_t guesses_per_prefix = 1;
};

const ParamTable<ChallengeParams>& challenge_params() {
  using P = ChallengeParams;
  static const ParamTable<P> table = {
      param<P>("prefix", &P::prefix, "", ".npy (N, 50) prefixes", required),
      param<P>("answers", &P::answers, "", "optional .npy (N, 50) true suffixes, to score the run"),
      param<P>("trials", &P::trials, "100", "candidates per prefix (eidetic mode: one greedy, the rest top-k samples)")
          .at_least(1),
      param<P>("top_k", &P::top_k, "10", "k of the top-k sampling").at_least(0),
      param<P>("temperature", &P::temperature, "1.0", "sampling temperature").above(0),
      param<P>("suffix_len", &P::suffix_len, "50", "tokens to generate").at_least(1),
      param<P>("limit", &P::limit, "0", "only the first N prefixes (0: all)").at_least(0),
      param<P>("last", &P::last, "0",
               "only the last N prefixes, numbered 0..N-1 (the baseline attacks train_prefix.npy[-1000:], as the "
               "scorer reads answers[-1000:]; 0: all)")
          .at_least(0),
      param<P>("mode", &P::mode, "baseline",
               "baseline: simple_baseline.py (top-k samples only, end-of-text padding, loss window [-51:-1]); eidetic: a "
               "greedy trial first, no padding, loss over the suffix",
               false, {"baseline", "eidetic"}),
      param<P>("loss_window", &P::loss_window, "auto",
               "positions the loss averages: baseline = the baseline's [-51:-1] (last prefix token + first S-1 suffix "
               "tokens), suffix = the S suffix tokens, auto = the mode's",
               false, {"auto", "baseline", "suffix"}),
      param<P>("guess_trials", &P::guess_trials, "[1, 10, 100]",
               "write guess{g}.csv from the first g trials for each g (capped at trials)")
          .at_least(1),
      param<P>("guesses_per_prefix", &P::guesses_per_prefix, "1", "distinct candidates per prefix in guesses.csv")
          .at_least(1)};
  return table;
}

const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "fp32";
    case at::kHalf: return "fp16";
    case at::kBFloat16: return "bf16";
    case at::kDouble: return "fp64";
    default: return "other";
  }
}

// JSON has no infinity or NaN: a loss that is not finite is stored as null and read as +inf,
// so that it sorts after every finite loss.
json loss_json(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
double loss_of(const json& v) { return v.is_null() ? INFINITY : v.get<double>(); }

// numpy's argmin over losses[0, g): the first index of the least value.
int64_t argmin_first(const std::vector<double>& losses, int64_t g) {
  int64_t best = 0;
  for (int64_t t = 1; t < g; ++t)
    if (losses[static_cast<size_t>(t)] < losses[static_cast<size_t>(best)]) best = t;
  return best;
}

class ExtractionChallenge : public Attack {
 public:
  // What `eidetic config attacks` and the reports say of the attack.
  static constexpr const char* kSummary =
      "the Training Data Extraction Challenge: its baseline's top-k trials per prefix ranked by loss, submission"
      " CSVs after 1, 10 and 100 trials, and the official recall at 100 errors";

  ExtractionChallenge(Session& session, const ChallengeParams& p) : session_(session) {
    const auto t0 = Clock::now();
    const std::string& pf = p.prefix;
    const auto prefix = corpus::read_npy_tokens(pf);
    if (prefix.shape.size() != 2) throw Error(pf + ": expected a 2-D (N, P) array of prefixes");
    const int64_t N = prefix.shape[0], P = prefix.shape[1];
    const int64_t vocab = session.vocab_size();
    for (int64_t i = 0; i < N; ++i) {
      prompts_.emplace_back(prefix.values.begin() + i * P, prefix.values.begin() + (i + 1) * P);
      for (int64_t id : prompts_.back())
        if (id < 0 || id >= vocab)
          throw Error(pf + ": token id " + std::to_string(id) + " in row " + std::to_string(i) +
                      " is outside the model's vocabulary of " + std::to_string(vocab));
    }
    if (P < 1) throw Error(pf + ": the prefixes are empty");
    const std::string& af = p.answers;
    if (!af.empty()) {
      const auto a = corpus::read_npy_tokens(af);
      if (a.shape.size() != 2 || a.shape[0] != N)
        throw Error(af + ": expected a 2-D array with one answer row per prefix (" + std::to_string(N) + ")");
      for (int64_t i = 0; i < N; ++i) answers_.emplace_back(a.values.begin() + i * a.shape[1], a.values.begin() + (i + 1) * a.shape[1]);
    }
    const int64_t limit = p.limit;
    if (limit > 0 && p.last > 0) throw Error("attack: limit (the first N prefixes) and last (the last N) exclude each other");
    if (p.last > 0 && p.last < N) {
      first_row_ = N - p.last;
      prompts_.erase(prompts_.begin(), prompts_.begin() + first_row_);
      if (!answers_.empty()) answers_.erase(answers_.begin(), answers_.begin() + first_row_);
    }
    if (limit > 0 && limit < N) {
      prompts_.resize(static_cast<size_t>(limit));
      if (!answers_.empty()) answers_.resize(static_cast<size_t>(limit));
    }
    trials_ = p.trials;
    suffix_len_ = p.suffix_len;
    top_k_ = p.top_k;
    temperature_ = p.temperature;
    if (trials_ < 1 || suffix_len_ < 1) throw Error("attack: trials and suffix_len must be at least 1");
    if (!answers_.empty() && static_cast<int64_t>(answers_[0].size()) != suffix_len_)
      throw Error(af + ": answers have " + std::to_string(answers_[0].size()) + " tokens but suffix_len is " +
                  std::to_string(suffix_len_));
    baseline_ = p.mode == "baseline";
    window_ = p.loss_window == "auto" ? (baseline_ ? "baseline" : "suffix") : p.loss_window;
    for (int64_t g : p.guess_trials) {
      if (g < 1) throw Error("attack.guess_trials: " + std::to_string(g) + " is below 1 (a guess file needs a trial)");
      guess_trials_.insert(std::min(g, trials_));
    }
    guesses_per_prefix_ = p.guesses_per_prefix;
    if (guesses_per_prefix_ < 1) throw Error("attack.guesses_per_prefix: must be at least 1");
    if (baseline_) {
      // Hugging Face stops a row at the model's end-of-text token (its generation config, from
      // config.json) and pads it; the tokenizer's is the fallback.
      eos_ = session.model().config().eos_token_id;
      if (!eos_ && session.tokenizer()) eos_ = session.tokenizer()->eos_id();
      if (!eos_) {
        warnings_.push_back("the model names no end-of-text token (neither config.json nor its tokenizer): samples are "
                            "not padded after end-of-text as the baseline's are");
        std::cerr << "warning: " << warnings_.back() << "\n";
      } else if (*eos_ < 0 || *eos_ >= vocab) {
        throw Error("the model's end-of-text token " + std::to_string(*eos_) + " is outside its vocabulary of " +
                    std::to_string(vocab));
      }
    }
    session.profile().add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
    batch_ = session.batch_items(P + suffix_len_, trials_);
  }

  int64_t item_count() const override { return static_cast<int64_t>(prompts_.size()); }
  int64_t batch_items() const override { return batch_; }

  std::vector<json> run_batch(const std::vector<int64_t>& ids) override {
    std::vector<std::vector<int64_t>> prompts;
    for (int64_t id : ids) prompts.push_back(prompts_[static_cast<size_t>(id)]);
    const auto T = static_cast<size_t>(trials_);
    // cand[i * T + t]: item i's trial t.
    std::vector<std::vector<int64_t>> cand(ids.size() * T);
    const int64_t greedy = baseline_ ? 0 : 1;  // trials taken by the greedy continuation
    if (greedy) {
      models::DecodeSpec spec;
      spec.max_new_tokens = suffix_len_;
      auto g = session_.generate(prompts, spec);
      for (size_t i = 0; i < ids.size(); ++i) cand[i * T] = std::move(g[i].tokens);
    }
    if (trials_ > greedy) {
      models::DecodeSpec spec;
      spec.mode = models::DecodeSpec::Mode::sample;
      spec.max_new_tokens = suffix_len_;
      spec.num_samples = trials_ - greedy;
      spec.sampling.top_k = top_k_;
      spec.sampling.temperature_start = spec.sampling.temperature_end = static_cast<float>(temperature_);
      spec.sampling.seed = session_.seed();
      spec.prompt_ids = ids;  // each example's samples depend on its id, not on its batch
      if (eos_) spec.stop_token = eos_;
      auto sampled = session_.generate(prompts, spec);
      const auto width = static_cast<size_t>(spec.num_samples);
      for (size_t i = 0; i < ids.size(); ++i)
        for (size_t s = 0; s < width; ++s) {
          auto& c = cand[i * T + static_cast<size_t>(greedy) + s];
          c = std::move(sampled[i * width + s].tokens);
          // A finished row is padded with end-of-text, as generate(pad_token_id=50256) does.
          if (eos_) c.resize(static_cast<size_t>(suffix_len_), *eos_);
        }
    }
    // Every candidate re-scored as prefix + candidate (the baseline re-runs the model on the
    // whole sequence); the loss is the mean NLL over the window.
    std::vector<std::vector<int64_t>> seqs;
    seqs.reserve(cand.size());
    for (size_t i = 0; i < ids.size(); ++i)
      for (size_t t = 0; t < T; ++t) {
        std::vector<int64_t> s = prompts[i];
        s.insert(s.end(), cand[i * T + t].begin(), cand[i * T + t].end());
        seqs.push_back(std::move(s));
      }
    const auto scored = session_.score(seqs);

    const auto t0 = Clock::now();
    std::vector<json> records;
    for (size_t i = 0; i < ids.size(); ++i) {
      std::vector<double> losses(T);
      for (size_t t = 0; t < T; ++t) losses[t] = window_loss(scored[i * T + t].logprob, cand[i * T + t].size());
      // Trials by (loss, trial); the best distinct candidates for guesses.csv.
      std::vector<int64_t> order(T);
      for (size_t t = 0; t < T; ++t) order[t] = static_cast<int64_t>(t);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return losses[static_cast<size_t>(a)] < losses[static_cast<size_t>(b)];
      });
      std::vector<int64_t> ranked;
      std::set<std::vector<int64_t>> seen;
      for (int64_t t : order) {
        if (static_cast<int64_t>(ranked.size()) == guesses_per_prefix_) break;
        if (seen.insert(cand[i * T + static_cast<size_t>(t)]).second) ranked.push_back(t);
      }
      // The trials some guess file uses: their tokens go into the record.
      std::set<int64_t> kept(ranked.begin(), ranked.end());
      for (int64_t g : guess_trials_) kept.insert(argmin_first(losses, g));
      json candidates = json::array();
      for (int64_t t : kept) candidates.push_back({{"trial", t}, {"tokens", cand[i * T + static_cast<size_t>(t)]}});
      json loss_list = json::array();
      for (double l : losses) loss_list.push_back(loss_json(l));
      const auto& best = cand[i * T + static_cast<size_t>(ranked[0])];
      json r = {{"id", ids[i]},          {"guess", best},         {"loss", loss_json(losses[static_cast<size_t>(ranked[0])])},
                {"trials", trials_},     {"losses", loss_list},   {"ranked", ranked},
                {"candidates", candidates}};
      if (!answers_.empty()) {
        const auto& answer = answers_[static_cast<size_t>(ids[i])];
        bool any = false;
        for (size_t t = 0; t < T; ++t) any = any || cand[i * T + t] == answer;
        r["exact"] = best == answer;
        r["any_trial_exact"] = any;
        r["edit_distance"] = metrics::normalized_edit_distance(best, answer);
        r["bleu4"] = metrics::bleu4(best, answer);
      }
      records.push_back(std::move(r));
    }
    session_.profile().add("match", std::chrono::duration<double>(Clock::now() - t0).count());
    return records;
  }

  json summarize(const std::vector<json>& records_in) const override {
    // Records in prefix order, whatever order the store holds them in.
    std::vector<const json*> records;
    for (const auto& r : records_in) records.push_back(&r);
    std::stable_sort(records.begin(), records.end(),
                     [](const json* a, const json* b) { return a->at("id").get<int64_t>() < b->at("id").get<int64_t>(); });
    struct Row {
      double loss;
      metrics::ChallengeGuess guess;
    };
    auto tokens_of = [](const json& r, int64_t trial) {
      for (const auto& c : r.at("candidates"))
        if (c.at("trial").get<int64_t>() == trial) return c.at("tokens").get<std::vector<int64_t>>();
      throw Error("extraction-challenge: record " + r.at("id").dump() + " lacks the tokens of trial " +
                  std::to_string(trial));
    };
    auto losses_of = [](const json& r) {
      std::vector<double> l;
      for (const auto& x : r.at("losses")) l.push_back(loss_of(x));
      return l;
    };
    auto in_order = [](std::vector<Row> rows) {  // ascending loss, ties in the given order
      std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.loss < b.loss; });
      std::vector<metrics::ChallengeGuess> out;
      for (auto& r : rows) out.push_back(std::move(r.guess));
      return out;
    };

    // guesses.csv: the ranked candidates of every prefix.
    std::vector<Row> rows;
    for (const json* r : records) {
      const auto losses = losses_of(*r);
      for (const auto& t : r->at("ranked"))
        rows.push_back({losses.at(t.get<size_t>()), {r->at("id").get<int64_t>(), tokens_of(*r, t.get<int64_t>())}});
    }
    const auto guesses = in_order(std::move(rows));
    const auto csv = session_.run_dir() / "guesses.csv";
    metrics::write_guesses_csv(csv, guesses);
    // guess{g}.csv: the baseline's files.
    std::vector<std::pair<int64_t, std::vector<metrics::ChallengeGuess>>> files;
    json file_list = json::array();
    for (int64_t g : guess_trials_) {
      std::vector<Row> grows;
      for (const json* r : records) {
        const auto losses = losses_of(*r);
        const int64_t t = argmin_first(losses, g);
        grows.push_back({losses[static_cast<size_t>(t)], {r->at("id").get<int64_t>(), tokens_of(*r, t)}});
      }
      files.emplace_back(g, in_order(std::move(grows)));
      const auto path = session_.run_dir() / ("guess" + std::to_string(g) + ".csv");
      metrics::write_guesses_csv(path, files.back().second);
      file_list.push_back({{"trials", g}, {"file", path.string()}});
    }

    const std::string dtype = dtype_name(session_.model().dtype());
    const bool cuda = session_.model().device().is_cuda();
    std::vector<std::string> warnings = warnings_;
    if (baseline_ && dtype != "fp16")
      warnings.push_back("the baseline runs the model in fp16 on CUDA; this run used " + dtype + " on " +
                         (cuda ? "CUDA (set model.dtype: fp16 to match it)" : "the CPU"));
    const std::string trials = std::to_string(trials_);
    std::string protocol =
        baseline_ ? "baseline (simple_baseline.py): " + trials + " top-k samples, no greedy trial, "
                  : "eidetic: a greedy trial and " + std::to_string(trials_ - 1) + " top-k samples, ";
    protocol += window_ == "baseline" ? "loss over the baseline's [-51:-1] window (last prefix token + first " +
                                            std::to_string(suffix_len_ - 1) + " suffix tokens)"
                                      : "loss over the " + std::to_string(suffix_len_) + " suffix tokens";
    protocol += baseline_ ? (eos_ ? ", padded after end-of-text" : ", no end-of-text token to pad with")
                          : ", no end-of-text padding";
    protocol += ", " + dtype;
    json run = {{"items", records.size()},
                {"first_row", first_row_},  // Example ID 0 is this row of the prefix file
                {"submission", csv.string()},
                {"protocol", protocol},
                {"mode", baseline_ ? "baseline" : "eidetic"},
                {"loss_window", window_},
                {"greedy_trial", !baseline_},
                {"eos_padding", baseline_ && eos_.has_value()},
                {"eos_token", eos_ ? json(*eos_) : json(nullptr)},
                {"dtype", dtype},
                {"device", cuda ? "cuda" : "cpu"},
                {"trials", trials_},
                {"guesses_per_prefix", guesses_per_prefix_},
                {"guess_files", file_list}};
    if (!warnings.empty()) run["warnings"] = warnings;
    json out = {{"run", run}, {"tables", json::array()}, {"plots", json::array()}};
    out["metrics"] = json::array();
    if (!answers_.empty()) {
      std::vector<double> exact, any, edit, bleu;
      for (const json* r : records) {
        exact.push_back(r->at("exact").get<bool>() ? 1.0 : 0.0);
        any.push_back(r->at("any_trial_exact").get<bool>() ? 1.0 : 0.0);
        edit.push_back(r->at("edit_distance").get<double>() <= 0.1 ? 1.0 : 0.0);
        bleu.push_back(r->at("bleu4").get<double>() >= 0.75 ? 1.0 : 0.0);
      }
      auto recall_json = [](const std::string& name, const metrics::ChallengeScore& s, const std::string& what) {
        metrics::Interval recall;
        recall.value = recall.low = recall.high = s.recall_at_100_errors;
        recall.n = s.examples;
        json m = metric_json(name, recall, what);
        m.erase("ci_low");
        m.erase("ci_high");
        return m;
      };
      auto curve_points = [](const metrics::ChallengeScore& s) {
        json points = json::array();
        for (const auto& [wrong, rec] : s.curve) points.push_back({wrong, rec});
        return points;
      };
      const auto s = metrics::score_challenge(guesses, answers_);
      out["metrics"].push_back(recall_json(
          "recall_at_100_errors", s,
          "the challenge's official score of guesses.csv (" + std::to_string(guesses_per_prefix_) + " per prefix, " +
              trials + " trials)"));
      json series = json::array({{{"name", "guesses.csv"}, {"points", curve_points(s)}}});
      json table_rows = json::array({{"guesses.csv", trials_, s.guesses, s.recall_at_100_errors, s.correct, s.wrong}});
      for (const auto& [g, file] : files) {
        const auto sg = metrics::score_challenge(file, answers_);
        const std::string name = "guess" + std::to_string(g) + ".csv";
        out["metrics"].push_back(recall_json("recall_at_100_errors_guess" + std::to_string(g), sg,
                                             "the official score of " + name + " (the best of the first " +
                                                 std::to_string(g) + " trials per prefix, as the baseline)"));
        series.push_back({{"name", name}, {"points", curve_points(sg)}});
        table_rows.push_back({name, g, sg.guesses, sg.recall_at_100_errors, sg.correct, sg.wrong});
      }
      out["metrics"].push_back(metric_json("exact_extraction_rate", metrics::bootstrap_mean(exact, 1000, 0.95, session_.seed()),
                                           "fraction of examples whose best guess is exactly the suffix"));
      out["metrics"].push_back(metric_json("any_trial_exact_rate", metrics::bootstrap_mean(any, 1000, 0.95, session_.seed() + 1),
                                           "fraction of examples where some trial produced the suffix (the ranking's ceiling)"));
      out["metrics"].push_back(metric_json("approx_rate_edit", metrics::bootstrap_mean(edit, 1000, 0.95, session_.seed() + 2),
                                           "fraction whose best guess is within normalized edit distance 0.1"));
      out["metrics"].push_back(metric_json("approx_rate_bleu", metrics::bootstrap_mean(bleu, 1000, 0.95, session_.seed() + 3),
                                           "fraction whose best guess has BLEU-4 >= 0.75"));
      out["tables"].push_back({{"id", "challenge_guess_files"},
                               {"title", "Extraction challenge: each guess file under the official rule"},
                               {"columns", {"file", "trials", "guesses", "recall at 100 errors", "solved in budget", "wrong"}},
                               {"rows", table_rows}});
      out["plots"].push_back({{"id", "challenge_errors"},
                              {"title", "Extraction challenge: recall against wrong guesses"},
                              {"kind", "line"},
                              {"x_label", "wrong guesses"},
                              {"y_label", "recall"},
                              {"series", series}});
    }
    return out;
  }

 private:
  // The mean NLL over the loss window of prefix + candidate, from its T - 1 log-probabilities
  // (position j predicts token j + 1).
  double window_loss(const std::vector<float>& logprob, size_t candidate_len) const {
    const auto L = static_cast<int64_t>(logprob.size());
    const auto S = static_cast<int64_t>(candidate_len);
    int64_t begin, end;
    if (window_ == "baseline") {
      // Python's [-S-1:-1] over the L = P + S - 1 losses (the baseline's [-_SUFFIX_LEN-1:-1],
      // clipped at the start as Python clips it).
      begin = std::max<int64_t>(0, L - S - 1);
      end = std::max<int64_t>(0, L - 1);
    } else {
      begin = std::max<int64_t>(0, L - S);  // the S suffix tokens
      end = L;
    }
    if (end <= begin) return INFINITY;
    double s = 0;
    for (int64_t j = begin; j < end; ++j) s -= static_cast<double>(logprob[static_cast<size_t>(j)]);
    return s / static_cast<double>(end - begin);
  }

  int64_t first_row_ = 0;  // `last`: the prefix file's row of Example ID 0
  Session& session_;
  std::vector<std::vector<int64_t>> prompts_, answers_;
  int64_t trials_ = 100, suffix_len_ = 50, top_k_ = 10, batch_ = 1, guesses_per_prefix_ = 1;
  double temperature_ = 1.0;
  bool baseline_ = true;
  std::string window_ = "baseline";
  std::set<int64_t> guess_trials_;
  std::optional<int64_t> eos_;
  std::vector<std::string> warnings_;
};

}  // namespace

AttackInfo extraction_challenge_info() {
  AttackInfo info = make_attack_info<ExtractionChallenge>("extraction-challenge", challenge_params());
  // simple_baseline.py runs GPT-Neo with .half() on CUDA.
  info.cuda_dtype = [](const json& section) -> std::string {
    return section.value("mode", "baseline") == "baseline" ? "fp16" : "";
  };
  return info;
}

}  // namespace eidetic::attacks
