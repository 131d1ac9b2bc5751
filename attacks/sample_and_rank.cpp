// attacks/sample_and_rank.cpp: untargeted extraction by sampling and ranking (Carlini et al.
// 2021, "Extracting Training Data from Large Language Models").
//
// N samples of 256 tokens are drawn with one of the paper's three strategies: top-k (k = 40)
// from the start token; a temperature that decays from 10 to 1 over the first 20 tokens; or
// top-k continuing 5-10 token prompts taken from a text corpus. Each sample is scored by the
// paper's membership signals: the target's log-perplexity; its ratio to a reference model's;
// its ratio to the text's zlib entropy; its ratio to the log-perplexity of the lowercased
// text; and the lowest log-perplexity over any 50-token window. For each signal the samples
// are ranked (most suspicious first), near-duplicates removed (token-trigram Jaccard above a
// threshold), and the top 100 and 1,000 checked against the training corpus through the
// n-gram index: a sample counts as memorized when one of its 50-token windows occurs there.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "attacks/attack.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "corpus/ngram_index.h"
#include "corpus/text_corpus.h"
#include "kernels/rng.h"
#include "metrics/text_metrics.h"
#include "models/model.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double mean_nll(const std::vector<float>& lp, size_t from = 0, size_t to = SIZE_MAX) {
  to = std::min(to, lp.size());
  if (from >= to) return 0.0;
  double s = 0;
  for (size_t i = from; i < to; ++i) s -= lp[i];
  return s / static_cast<double>(to - from);
}

struct SampleAndRankParams {
  int64_t samples = 1000, length = 256;
  std::string strategy = "top-k";
  int64_t top_k = 40;
  std::vector<std::string> prompt_files, corpus;
  int64_t ngram = 50, window = 50;
  double dedup_threshold = 0.5;
  std::vector<int64_t> precision_at;
};

const ParamTable<SampleAndRankParams>& sample_and_rank_params() {
  using P = SampleAndRankParams;
  static const ParamTable<P> table = {
      param<P>("samples", &P::samples, "1000", "samples to draw").at_least(1),
      param<P>("length", &P::length, "256", "tokens per sample").at_least(1),
      param<P>("strategy", &P::strategy, "top-k", "how to sample", false, {"top-k", "temperature-decay", "corpus-prompts"}),
      param<P>("top_k", &P::top_k, "40", "k for top-k and corpus prompts").at_least(0),
      param<P>("prompt_files", &P::prompt_files, "[]", "text to draw 5-10 token prompts from (corpus-prompts)"),
      param<P>("corpus", &P::corpus, "", "the training data (.txt/.jsonl) to check samples against", required),
      param<P>("ngram", &P::ngram, "50", "window length of the corpus check").at_least(1),
      param<P>("window", &P::window, "50", "window of the minimum-perplexity signal").at_least(1),
      param<P>("dedup_threshold", &P::dedup_threshold, "0.5", "trigram Jaccard above which a sample is a near-duplicate").at_least(0),
      param<P>("precision_at", &P::precision_at, "[100, 1000]", "report precision of the top k").at_least(1)};
  return table;
}

class SampleAndRank : public Attack {
 public:
  // What `eidetic config attacks` and the reports say of the attack.
  static constexpr const char* kSummary =
      "untargeted extraction: sample, rank by perplexity / reference / zlib / lowercase / window signals, "
      "check the top against the training corpus (Carlini et al. 2021)";

  SampleAndRank(Session& session, const SampleAndRankParams& p) : session_(session) {
    if (!session.tokenizer()) throw Error("attack sample-and-rank: needs a tokenizer (model.tokenizer) for zlib and lowercase");
    auto t0 = Clock::now();
    samples_ = p.samples;
    length_ = p.length;
    strategy_ = p.strategy;
    top_k_ = p.top_k;
    window_ = p.window;
    dedup_ = p.dedup_threshold;
    precision_at_ = p.precision_at;
    start_token_ = session.model().config().bos_token_id.value_or(session.tokenizer()->bos_id().value_or(0));
    if (strategy_ == "corpus-prompts") {
      std::vector<std::filesystem::path> files(p.prompt_files.begin(), p.prompt_files.end());
      if (files.empty()) throw Error("attack.prompt_files: the corpus-prompts strategy needs files to draw prompts from");
      for (auto& d : corpus::read_text_corpus(files, *session.tokenizer()))
        if (d.tokens.size() >= 10) prompt_docs_.push_back(std::move(d.tokens));
      if (prompt_docs_.empty()) throw Error("attack.prompt_files: no document has 10 tokens");
    }
    std::vector<std::filesystem::path> corpus_files(p.corpus.begin(), p.corpus.end());
    if (corpus_files.empty()) throw Error("attack.corpus: name the training data to check samples against");
    std::vector<std::vector<int64_t>> docs;
    for (auto& d : corpus::read_text_corpus(corpus_files, *session.tokenizer())) docs.push_back(std::move(d.tokens));
    session.profile().add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
    t0 = Clock::now();
    index_ = std::make_unique<corpus::NgramIndex>(docs, p.ngram, "auto");
    session.profile().add("index", std::chrono::duration<double>(Clock::now() - t0).count());
    batch_ = session.batch_items(length_ + 10);
  }

  int64_t item_count() const override { return samples_; }
  int64_t batch_items() const override { return batch_; }

  std::vector<json> run_batch(const std::vector<int64_t>& ids) override {
    std::vector<std::vector<int64_t>> prompts;
    for (int64_t id : ids) prompts.push_back(prompt_for(id));
    models::DecodeSpec spec;
    spec.mode = models::DecodeSpec::Mode::sample;
    spec.max_new_tokens = length_;
    spec.sampling.seed = session_.seed();
    spec.prompt_ids = ids;
    if (strategy_ == "temperature-decay") {
      spec.sampling.temperature_start = 10.f;
      spec.sampling.temperature_end = 1.f;
      spec.sampling.temperature_steps = 20;
    } else {
      spec.sampling.top_k = top_k_;
    }
    const auto generated = session_.generate(prompts, spec);
    std::vector<std::vector<int64_t>> full;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto s = prompts[i];
      s.insert(s.end(), generated[i].tokens.begin(), generated[i].tokens.end());
      full.push_back(std::move(s));
    }
    std::vector<models::Scored> ref;
    if (session_.has_reference()) ref = session_.score_reference(full);
    const auto t0 = Clock::now();
    std::vector<std::vector<int64_t>> samples;
    for (const auto& g : generated) samples.push_back(g.tokens);
    const auto hits = index_->query(samples);
    // The lowercased texts, scored together.
    std::vector<std::string> texts;
    std::vector<std::vector<int64_t>> lowered;
    std::vector<int64_t> lowered_index(ids.size(), -1);
    for (size_t i = 0; i < ids.size(); ++i) {
      texts.push_back(session_.tokenizer()->decode(generated[i].tokens));
      auto lower = session_.tokenizer()->encode(metrics::to_lower_ascii(texts.back()));
      if (lower.size() >= 2) {
        lowered_index[i] = static_cast<int64_t>(lowered.size());
        lowered.push_back(std::move(lower));
      }
    }
    const auto lower_scores = lowered.empty() ? std::vector<models::Scored>{} : session_.score(lowered);
    std::vector<json> records;
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& g = generated[i];
      const std::string& text = texts[i];
      const double nll = mean_nll(g.logprobs);
      double window_nll = nll;
      for (size_t w = 0; w + static_cast<size_t>(window_) <= g.logprobs.size(); ++w)
        window_nll = std::min(window_nll, mean_nll(g.logprobs, w, w + static_cast<size_t>(window_)));
      json r = {{"id", ids[i]},
                {"prompt", prompts[i]},
                {"tokens", g.tokens},
                {"text", text},
                {"nll", nll},
                {"zlib_bits", metrics::zlib_entropy_bits(text)},
                {"min_window_nll", window_nll},
                {"memorized", hits[i].matched > 0},
                {"matched_windows", hits[i].matched}};
      if (hits[i].matched > 0) r["match"] = {{"document", hits[i].document}, {"offset", hits[i].offset}};
      if (lowered_index[i] >= 0) r["lower_nll"] = mean_nll(lower_scores[static_cast<size_t>(lowered_index[i])].logprob);
      if (!ref.empty()) r["ref_nll"] = mean_nll(ref[i].logprob, prompts[i].size() - 1);
      records.push_back(std::move(r));
    }
    session_.profile().add("match", std::chrono::duration<double>(Clock::now() - t0).count());
    return records;
  }

  json summarize(const std::vector<json>& records) const override {
    // Each signal: lower = more suspicious.
    std::vector<std::pair<std::string, std::function<std::optional<double>(const json&)>>> signals = {
        {"perplexity", [](const json& r) -> std::optional<double> { return r.at("nll").get<double>(); }},
        {"zlib", [](const json& r) -> std::optional<double> {
           const double bits = r.at("zlib_bits").get<double>();
           return bits > 0 ? std::optional<double>(r.at("nll").get<double>() * r.at("tokens").size() / bits) : std::nullopt;
         }},
        {"lowercase", [](const json& r) -> std::optional<double> {
           if (!r.contains("lower_nll") || r.at("lower_nll").get<double>() <= 0) return std::nullopt;
           return r.at("nll").get<double>() / r.at("lower_nll").get<double>();
         }},
        {"window", [](const json& r) -> std::optional<double> { return r.at("min_window_nll").get<double>(); }},
        {"reference", [](const json& r) -> std::optional<double> {
           if (!r.contains("ref_nll") || r.at("ref_nll").get<double>() <= 0) return std::nullopt;
           return r.at("nll").get<double>() / r.at("ref_nll").get<double>();
         }}};
    int64_t memorized = 0;
    for (const auto& r : records) memorized += r.at("memorized").get<bool>();
    json out = {{"run", {{"items", records.size()}, {"strategy", strategy_}}}, {"metrics", json::array()}};
    metrics::Interval base{records.empty() ? 0.0 : static_cast<double>(memorized) / records.size(), 0, 0,
                           static_cast<int64_t>(records.size())};
    json m = metric_json("memorized_sample_rate", base, "fraction of all samples with a 50-token window found in the corpus");
    m.erase("ci_low");
    m.erase("ci_high");
    out["metrics"].push_back(m);
    json rows = json::array();
    json columns = {"signal"};
    for (int64_t k : precision_at_) columns.push_back("precision@" + std::to_string(k));
    for (const auto& [name, fn] : signals) {
      std::vector<std::pair<double, const json*>> ranked;
      for (const auto& r : records)
        if (auto v = fn(r)) ranked.emplace_back(*v, &r);
      if (ranked.empty()) continue;
      std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<const json*> kept;
      const int64_t want = precision_at_.empty() ? 0 : *std::max_element(precision_at_.begin(), precision_at_.end());
      for (const auto& [v, r] : ranked) {
        if (static_cast<int64_t>(kept.size()) >= want) break;
        const auto& t = r->at("tokens").get_ref<const json::array_t&>();
        std::vector<int64_t> tokens;
        for (const auto& x : t) tokens.push_back(x.get<int64_t>());
        bool duplicate = false;
        for (const json* k : kept) {
          std::vector<int64_t> other;
          for (const auto& x : k->at("tokens")) other.push_back(x.get<int64_t>());
          if (metrics::trigram_jaccard(tokens, other) > dedup_) {
            duplicate = true;
            break;
          }
        }
        if (!duplicate) kept.push_back(r);
      }
      json row = {name};
      for (int64_t k : precision_at_) {
        const int64_t n = std::min<int64_t>(k, static_cast<int64_t>(kept.size()));
        int64_t hits = 0;
        for (int64_t i = 0; i < n; ++i) hits += kept[static_cast<size_t>(i)]->at("memorized").get<bool>();
        const double precision = n > 0 ? static_cast<double>(hits) / static_cast<double>(n) : 0.0;
        row.push_back(precision);
        metrics::Interval pi{precision, precision, precision, n};
        json pm = metric_json("precision_at_" + std::to_string(k) + "_" + name, pi,
                              "memorized fraction of the " + std::to_string(n) + " top-ranked deduplicated samples by " + name);
        pm.erase("ci_low");
        pm.erase("ci_high");
        out["metrics"].push_back(pm);
      }
      rows.push_back(row);
    }
    out["tables"] = {{{"id", "precision"}, {"title", "Precision of the top-ranked samples"}, {"columns", columns}, {"rows", rows}}};
    return out;
  }

 private:
  std::vector<int64_t> prompt_for(int64_t id) const {
    if (strategy_ != "corpus-prompts") return {start_token_};
    const uint64_t r = kernels::random_bits(session_.seed(), 0x9f0c, static_cast<uint64_t>(id), 0);
    const auto& doc = prompt_docs_[r % prompt_docs_.size()];
    const int64_t len = 5 + static_cast<int64_t>((r >> 20) % 6);  // 5..10 tokens
    const int64_t start = static_cast<int64_t>((r >> 32) % (doc.size() - static_cast<size_t>(len) + 1));
    return {doc.begin() + start, doc.begin() + start + len};
  }

  Session& session_;
  int64_t samples_ = 1000, length_ = 256, top_k_ = 40, window_ = 50, batch_ = 1, start_token_ = 0;
  double dedup_ = 0.5;
  std::string strategy_;
  std::vector<int64_t> precision_at_;
  std::vector<std::vector<int64_t>> prompt_docs_;
  std::unique_ptr<corpus::NgramIndex> index_;
};


}  // namespace

AttackInfo sample_and_rank_info() { return make_attack_info<SampleAndRank>("sample-and-rank", sample_and_rank_params()); }

}  // namespace eidetic::attacks
