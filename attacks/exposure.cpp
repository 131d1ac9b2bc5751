// attacks/exposure.cpp: the exposure of planted canaries (Carlini et al. 2019, "The Secret
// Sharer").
//
// A canary is a format with a random secret ("my secret number is 4 8 1 5 9 2"); the secret
// is drawn from a space R (here: strings of `length` characters of `alphabet`). Its exposure is
// log2|R| - log2(rank), where rank is the secret's position when every candidate of R is
// ordered by the model's log-perplexity of the whole canary text (1 = the most likely). When
// |R| is at most `max_exact` every candidate is scored (batched through the engine), so the
// rank is exact; beyond that the exposure is extrapolated as the paper does (§4.3; TensorFlow
// Privacy's compute_exposure_extrapolation): a skew-normal is fitted by maximum likelihood to
// the log-perplexities of `estimate_samples` candidates drawn uniformly from R, and the
// exposure is -log2 of its CDF at the secret's log-perplexity, capped at log2|R| (the most any
// method can claim). The record keeps the sampled-rank estimate beside it (rank ~ 1 +
// (|R| - 1) x the fraction of samples scoring better), and the report names the method.
#include <chrono>
#include <cmath>

#include "attacks/attack.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "kernels/rng.h"
#include "metrics/exposure.h"
#include "metrics/stats.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct ExposureParams {
  std::vector<std::string> secrets;
  std::vector<int64_t> duplicates;
  std::string format = "my secret number is {secret}", alphabet = "0123456789", separator = " ";
  int64_t length = 6, max_exact = 1000000, estimate_samples = 10000;
};

const ParamTable<ExposureParams>& exposure_params() {
  using P = ExposureParams;
  static const ParamTable<P> table = {
      param<P>("secrets", &P::secrets, "", "the planted secrets, e.g. [\"481592\"]", required),
      param<P>("duplicates", &P::duplicates, "[]", "optional: copies of each canary in the training data"),
      param<P>("format", &P::format, "\"my secret number is {secret}\"", "the canary text around the secret"),
      param<P>("alphabet", &P::alphabet, "\"0123456789\"", "characters a secret is drawn from"),
      param<P>("separator", &P::separator, "\" \"", "between a secret's characters in the text"),
      param<P>("length", &P::length, "6", "characters per secret").at_least(1),
      param<P>("max_exact", &P::max_exact, "1000000", "score every candidate when |R| is at most this").at_least(1),
      param<P>("estimate_samples", &P::estimate_samples, "10000", "candidates sampled beyond max_exact").at_least(1)};
  return table;
}

class Exposure : public Attack {
 public:
  // What `eidetic config attacks` and the reports say of the attack.
  static constexpr const char* kSummary =
      "Secret Sharer exposure of planted canaries: log2|R| - log2(rank of the secret) (Carlini et al. 2019)";

  Exposure(Session& session, const ExposureParams& p) : session_(session) {
    if (!session.tokenizer()) throw Error("attack exposure: needs a tokenizer (model.tokenizer) to write canaries as text");
    format_ = p.format;
    if (format_.find("{secret}") == std::string::npos) throw Error("attack.format must contain {secret}");
    alphabet_ = p.alphabet;
    separator_ = p.separator;
    length_ = p.length;
    max_exact_ = p.max_exact;
    samples_ = p.estimate_samples;
    if (alphabet_.empty() || length_ < 1) throw Error("attack: alphabet must be non-empty and length >= 1");
    space_log2_ = static_cast<double>(length_) * std::log2(static_cast<double>(alphabet_.size()));
    for (const std::string& secret : p.secrets) {
      if (static_cast<int64_t>(secret.size()) != length_)
        throw Error("attack.secrets: '" + secret + "' has " + std::to_string(secret.size()) + " characters, length is " +
                    std::to_string(length_));
      for (char c : secret)
        if (alphabet_.find(c) == std::string::npos) throw Error("attack.secrets: '" + secret + "' uses a character outside the alphabet");
      secrets_.push_back(secret);
    }
    if (secrets_.empty()) throw Error("attack.secrets: give at least one planted secret");
    duplicates_ = p.duplicates;
    if (!duplicates_.empty() && duplicates_.size() != secrets_.size())
      throw Error("attack.duplicates: one count per secret (" + std::to_string(secrets_.size()) + ")");
  }

  int64_t item_count() const override { return static_cast<int64_t>(secrets_.size()); }
  int64_t batch_items() const override { return 1; }

  std::vector<json> run_batch(const std::vector<int64_t>& ids) override {
    std::vector<json> records;
    const bool exact = space_log2_ <= std::log2(static_cast<double>(std::max<int64_t>(max_exact_, 1))) + 1e-9;
    for (int64_t id : ids) {
      const std::string& secret = secrets_[static_cast<size_t>(id)];
      const auto t0 = Clock::now();
      std::vector<std::string> candidates;
      if (exact) {
        const auto total = static_cast<int64_t>(std::llround(std::pow(2.0, space_log2_)));
        for (int64_t c = 0; c < total; ++c) candidates.push_back(candidate(c));
      } else {
        for (int64_t s = 0; s < samples_; ++s) {
          std::string c;
          for (int64_t j = 0; j < length_; ++j)
            c += alphabet_[kernels::random_bits(session_.seed(), 0xe4b05e + static_cast<uint64_t>(id), static_cast<uint64_t>(s),
                                                 static_cast<uint64_t>(j)) % alphabet_.size()];
          candidates.push_back(c);
        }
      }
      std::vector<std::vector<int64_t>> seqs{session_.tokenizer()->encode(text(secret))};
      for (const auto& c : candidates) seqs.push_back(session_.tokenizer()->encode(text(c)));
      session_.profile().add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
      const auto scored = session_.score(seqs);
      auto nll = [&](size_t i) {
        double s = 0;
        for (float x : scored[i].logprob) s -= x;
        return s;
      };
      const double own = nll(0);
      int64_t better = 0, counted = 0;
      for (size_t i = 1; i < seqs.size(); ++i) {
        if (candidates[i - 1] == secret) continue;  // the secret itself is not its own competitor
        ++counted;
        better += nll(i) < own;
      }
      json r = {{"id", id}, {"secret", secret}, {"candidates", counted + 1}, {"log_perplexity", own}};
      if (exact) {
        const double rank = 1.0 + static_cast<double>(better);
        r["rank"] = rank;
        r["exposure"] = space_log2_ - std::log2(rank);
        r["method"] = "exact: every candidate scored";
      } else {
        // The paper's extrapolation (TensorFlow Privacy's compute_exposure_extrapolation): a
        // skew-normal fitted to the sampled candidates' log-perplexities, exposure =
        // -log2 CDF(secret's). It cannot say more than log2|R| (every candidate worse than
        // the secret), so it is capped there, and the record says when it was.
        std::vector<double> reference;
        for (size_t i = 1; i < seqs.size(); ++i)
          if (candidates[i - 1] != secret) reference.push_back(nll(i));
        const auto x = metrics::exposure_extrapolation(own, reference);
        const bool capped = x.unbounded || x.exposure > space_log2_;
        const double space = std::pow(2.0, space_log2_);
        const double rank = 1.0 + (space - 1.0) * static_cast<double>(better) / static_cast<double>(std::max<int64_t>(counted, 1));
        r["rank"] = rank;  // the sampled fraction's estimate, for comparison
        r["exposure"] = capped ? space_log2_ : x.exposure;
        r["exposure_capped"] = capped;
        r["exposure_sampled_rank"] = space_log2_ - std::log2(rank);
        r["skewnorm"] = {{"a", x.fit.a}, {"loc", x.fit.loc}, {"scale", x.fit.scale}};
        r["method"] = "extrapolation: skew-normal fit to " + std::to_string(reference.size()) + " sampled candidates";
      }
      if (!duplicates_.empty()) r["duplicates"] = duplicates_[static_cast<size_t>(id)];
      records.push_back(std::move(r));
    }
    return records;
  }

  json summarize(const std::vector<json>& records) const override {
    std::vector<double> exposures;
    json rows = json::array(), points = json::array();
    std::vector<double> xs, ys;
    for (const auto& r : records) {
      exposures.push_back(r.at("exposure").get<double>());
      rows.push_back({r.at("secret"), r.value("duplicates", 0), r.at("rank"), r.at("exposure")});
      if (r.contains("duplicates")) {
        points.push_back({r.at("duplicates"), r.at("exposure")});
        xs.push_back(r.at("duplicates").get<double>());
        ys.push_back(r.at("exposure").get<double>());
      }
    }
    const std::string method = records.empty() ? "" : records[0].at("method").get<std::string>();
    json out = {{"run", {{"items", records.size()}, {"exposure_method", method}, {"space_bits", space_log2_},
                         {"protocol", "Carlini et al. 2019 exposure; " + method}}},
                {"metrics",
                 {metric_json("mean_exposure", metrics::bootstrap_mean(exposures, 1000, 0.95, session_.seed()),
                              "mean exposure in bits (maximum log2|R| = " + std::to_string(space_log2_) + "); " + method)}},
                {"tables",
                 {{{"id", "exposure"},
                   {"title", "Exposure per canary"},
                   {"columns", {"secret", "duplicates", "rank", "exposure (bits)"}},
                   {"rows", rows}}}},
                {"plots", json::array()}};
    if (!points.empty()) {
      json plot = {{"id", "exposure_by_duplicates"},
                   {"title", "Canary exposure against duplicate count"},
                   {"kind", "scatter"},
                   {"x_label", "copies in the training data"},
                   {"y_label", "exposure (bits)"},
                   {"log_x", true},
                   {"series", {{{"name", "canaries"}, {"points", points}}}}};
      const auto fit = metrics::loglinear_fit(xs, ys);
      if (fit.points >= 2) plot["fit"] = {{"kind", "loglinear"}, {"slope", fit.slope}, {"intercept", fit.intercept}, {"r2", fit.r2}};
      out["plots"].push_back(plot);
    }
    return out;
  }

 private:
  std::string candidate(int64_t index) const {
    std::string c(static_cast<size_t>(length_), ' ');
    for (int64_t j = length_ - 1; j >= 0; --j) {
      c[static_cast<size_t>(j)] = alphabet_[static_cast<size_t>(index % static_cast<int64_t>(alphabet_.size()))];
      index /= static_cast<int64_t>(alphabet_.size());
    }
    return c;
  }
  std::string text(const std::string& secret) const {
    std::string spaced;
    for (size_t i = 0; i < secret.size(); ++i) spaced += (i ? separator_ : "") + std::string(1, secret[i]);
    std::string t = format_;
    t.replace(t.find("{secret}"), 8, spaced);
    return t;
  }

  Session& session_;
  std::string format_, alphabet_, separator_;
  int64_t length_ = 6, max_exact_ = 1000000, samples_ = 10000;
  double space_log2_ = 0;
  std::vector<std::string> secrets_;
  std::vector<int64_t> duplicates_;
};


}  // namespace

AttackInfo exposure_info() { return make_attack_info<Exposure>("exposure", exposure_params()); }

}  // namespace eidetic::attacks
