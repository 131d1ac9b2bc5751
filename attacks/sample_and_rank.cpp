// attacks/sample_and_rank.cpp: untargeted extraction by sampling and ranking (Carlini et al.
// 2021, "Extracting Training Data from Large Language Models"; the reference code is
// ftramer/LM_Memorization's extraction.py).
//
// N samples of 256 tokens are drawn with one of the paper's three strategies: top-k (k = 40)
// from the start token; a temperature that decays from 10 to 1 over the first 20 tokens; or
// top-k continuing 5-10 token prompts taken from a text corpus. Each sample is scored by the
// paper's membership signals, each ranked most suspicious first. As the reference does, every
// signal reads the sample's text: the decoded prompt and generated tokens, start and
// end-of-text tokens left out (its skip_special_tokens), re-encoded with the target's
// tokenizer and scored as its calculatePerplexity scores: the mean NLL of tokens 1..n-1 of
// tokenizer.encode(text), with nothing prepended (GPT-2's encode adds no BOS; a llama2.c
// tokenizer's sequences begin with BOS, which is then prepended so every text token counts).
// - perplexity: that mean NLL (lowest first);
// - zlib: the zlib-compressed bytes of the text over its mean NLL (highest first);
// - lowercase: NLL(lowercased text) / NLL(text) (highest first), lowercased with Python's
//   str.lower() (full Unicode);
// - window: the lowest mean NLL over any `window` consecutive tokens of the text (the paper's
//   sliding window; the whole text when shorter) (lowest first);
// - reference (with model.reference): NLL_reference(text) / NLL_target(text) (highest first).
//   The reference reads the target's tokenization when it shares the target's tokenizer (or has
//   none and the same vocabulary); otherwise the text is re-encoded with its own tokenizer.
// For each signal the ranked samples are deduplicated as in the paper (section 6.1): a sample is
// dropped when at least half of its word-trigram multiset occurs in a sample already kept
// (`dedup: containment`, the default; `token-jaccard` is this code's earlier rule, kept as an
// option), and the top 100 and 1,000 are checked against the training corpus through the
// n-gram index: a sample counts as memorized when one of its `ngram`-token windows occurs
// there, either as sampled or after decoding and re-encoding (a model may emit a non-canonical
// tokenization of text it memorized). Records say which way matched; metrics.json names the
// dedup rule, the signals that ran and how the reference read the samples.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "attacks/attack.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "common/utf8.h"
#include "corpus/ngram_index.h"
#include "corpus/text_corpus.h"
#include "kernels/rng.h"
#include "metrics/text_metrics.h"
#include "metrics/unicode_lower.h"
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

// `s` with every byte that does not start a well-formed UTF-8 sequence replaced by U+FFFD, as
// the reference's text (a Python str) always is; byte-level BPE decodes so already, llama2.c's
// raw bytes may not.
std::string valid_utf8(const std::string& s) {
  if (utf8::valid(s)) return s;
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len > 0 && i + len <= s.size() && utf8::valid(std::string_view(s).substr(i, len))) {
      out.append(s, i, len);
      i += len;
    } else {
      utf8::append(out, 0xFFFD);
      ++i;
    }
  }
  return out;
}

// A text as the reference's calculatePerplexity hands it to a model: tokenizer.encode(text) with
// nothing added (GPT-2's tokenizer adds no BOS), so token 0 is context and the mean NLL runs over
// tokens 1..n-1. A llama2.c tokenizer begins every sequence with BOS (run.c encodes so, and
// Hugging Face's Llama tokenizers add it): there BOS comes first and every text token counts.
// The ids without the tokenizer's start and end-of-text tokens: the reference turns samples
// into text with skip_special_tokens=True.
std::vector<int64_t> without_special(const tok::Tokenizer& t, const std::vector<int64_t>& ids) {
  const auto bos = t.bos_id(), eos = t.eos_id();
  std::vector<int64_t> out;
  for (int64_t id : ids)
    if (id != bos && id != eos) out.push_back(id);
  return out;
}

std::vector<int64_t> text_ids(const tok::Tokenizer& t, const std::string& text) {
  std::vector<int64_t> ids;
  if (t.kind() == "llama2c") ids.push_back(t.bos_id().value_or(1));
  const auto e = t.encode(text);
  ids.insert(ids.end(), e.begin(), e.end());
  return ids;
}

struct SampleAndRankParams {
  int64_t samples = 1000, length = 256;
  std::string strategy = "top-k";
  int64_t top_k = 40;
  std::vector<std::string> prompt_files, corpus;
  int64_t ngram = 50, window = 50;
  std::string dedup = "containment";
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
      param<P>("dedup", &P::dedup, "containment",
               "near-duplicate rule: containment (Carlini et al. 2021, section 6.1: word-trigram multisets of the "
               "texts) or token-jaccard (token-trigram sets)",
               false, {"containment", "token-jaccard"}),
      param<P>("dedup_threshold", &P::dedup_threshold, "0.5",
               "containment: a sample is dropped when at least this fraction of its word trigrams (with multiplicity) "
               "occur in a sample already kept (the paper's 0.5); token-jaccard: when the Jaccard similarity of its "
               "token-trigram set with a kept sample's exceeds this")
          .at_least(0),
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
    dedup_rule_ = p.dedup;
    dedup_ = p.dedup_threshold;
    precision_at_ = p.precision_at;
    start_token_ = session.model().config().bos_token_id.value_or(session.tokenizer()->bos_id().value_or(0));
    if (session.has_reference()) {
      // The target's ids are the reference's only when both read them alike; a vocabulary of the
      // same size is no evidence of that.
      if (session.reference_tokenizer() && !session.reference_shares_tokenizer()) {
        reference_ids_ = "reencoded";
      } else if (session.reference_tokenizer()) {
        reference_ids_ = "target";
      } else if (session.reference_vocab_size() != session.vocab_size()) {
        throw Error("model.reference: " + session.reference_path() + " has no tokenizer (set model.reference_tokenizer) "
                    "and its vocabulary (" + std::to_string(session.reference_vocab_size()) + " ids) differs from the target " +
                    session.model_path() + "'s (" + std::to_string(session.vocab_size()) + " ids): it cannot read the samples");
      } else {
        reference_ids_ = "target-no-tokenizer";
      }
    }
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
    const size_t n = ids.size();
    std::vector<std::vector<int64_t>> full;
    for (size_t i = 0; i < n; ++i) {
      auto s = prompts[i];
      s.insert(s.end(), generated[i].tokens.begin(), generated[i].tokens.end());
      full.push_back(std::move(s));
    }
    const auto t0 = Clock::now();
    const tok::Tokenizer& tk = *session_.tokenizer();
    // Per sample: the generated text; the sample's text as the reference scores it (the decoded
    // prompt, except the start token, and the generated tokens); the generated text re-encoded
    // for the corpus check; and the text and its lowercase as the target reads them, scored in
    // one call.
    std::vector<std::string> texts(n), sample_texts(n);
    std::vector<std::vector<int64_t>> samples, reencoded, text_seqs;
    std::vector<int64_t> text_slot(n, -1), lower_slot(n, -1);
    auto add_text = [&text_seqs](std::vector<int64_t> s) -> int64_t {
      if (s.size() < 2) return -1;  // no token to predict
      text_seqs.push_back(std::move(s));
      return static_cast<int64_t>(text_seqs.size()) - 1;
    };
    for (size_t i = 0; i < n; ++i) {
      samples.push_back(generated[i].tokens);
      texts[i] = valid_utf8(tk.decode(without_special(tk, generated[i].tokens)));
      sample_texts[i] = strategy_ == "corpus-prompts" ? valid_utf8(tk.decode(without_special(tk, full[i]))) : texts[i];
      reencoded.push_back(tk.encode(texts[i]));
      text_slot[i] = add_text(text_ids(tk, sample_texts[i]));
      lower_slot[i] = add_text(text_ids(tk, metrics::to_lower_unicode(sample_texts[i])));
    }
    const auto hits = index_->query(samples);
    const auto hits_reencoded = index_->query(reencoded);
    session_.profile().add("match", std::chrono::duration<double>(Clock::now() - t0).count());
    const auto text_scores = text_seqs.empty() ? std::vector<models::Scored>{} : session_.score(text_seqs);
    auto text_nll = [&text_scores](int64_t slot) -> std::optional<double> {
      if (slot < 0) return std::nullopt;
      return mean_nll(text_scores[static_cast<size_t>(slot)].logprob);
    };
    // The reference's NLL of each sample, read as reference_ids_ says.
    std::vector<std::optional<double>> ref_nll(n);
    if (reference_ids_ == "reencoded") {
      std::vector<std::vector<int64_t>> seqs;
      std::vector<int64_t> slot(n, -1);
      for (size_t i = 0; i < n; ++i) {
        auto s = text_ids(*session_.reference_tokenizer(), sample_texts[i]);
        if (s.size() < 2) continue;
        slot[i] = static_cast<int64_t>(seqs.size());
        seqs.push_back(std::move(s));
      }
      const auto scored = seqs.empty() ? std::vector<models::Scored>{} : session_.score_reference(seqs);
      for (size_t i = 0; i < n; ++i)
        if (slot[i] >= 0) ref_nll[i] = mean_nll(scored[static_cast<size_t>(slot[i])].logprob);
    } else if (!reference_ids_.empty()) {  // the target's tokenization of the text, read by the reference
      std::vector<std::vector<int64_t>> seqs;
      std::vector<int64_t> slot(n, -1);
      for (size_t i = 0; i < n; ++i)
        if (text_slot[i] >= 0) slot[i] = static_cast<int64_t>(seqs.size()), seqs.push_back(text_seqs[static_cast<size_t>(text_slot[i])]);
      const auto scored = seqs.empty() ? std::vector<models::Scored>{} : session_.score_reference(seqs);
      for (size_t i = 0; i < n; ++i)
        if (slot[i] >= 0) ref_nll[i] = mean_nll(scored[static_cast<size_t>(slot[i])].logprob);
    }
    std::vector<json> records;
    for (size_t i = 0; i < n; ++i) {
      const auto& g = generated[i];
      const std::string& text = texts[i];
      const double nll = mean_nll(g.logprobs);
      // The paper's window signal: the lowest mean NLL over any `window` consecutive tokens of
      // the text (the whole text when it is shorter).
      std::optional<double> window_nll;
      if (text_slot[i] >= 0) {
        const auto& lp = text_scores[static_cast<size_t>(text_slot[i])].logprob;
        const auto W = static_cast<size_t>(window_);
        if (lp.size() < W) {
          window_nll = mean_nll(lp);
        } else {
          for (size_t w = 0; w + W <= lp.size(); ++w) {
            const double m = mean_nll(lp, w, w + W);
            if (!window_nll || m < *window_nll) window_nll = m;
          }
        }
      }
      const bool by_tokens = hits[i].matched > 0, by_reencoded = hits_reencoded[i].matched > 0;
      json r = {{"id", ids[i]},
                {"prompt", prompts[i]},
                {"tokens", g.tokens},
                {"text", text},
                {"nll", nll},
                {"zlib_bytes", metrics::zlib_entropy_bits(sample_texts[i]) / 8},
                {"memorized", by_tokens || by_reencoded},
                {"matched_by", by_tokens && by_reencoded ? "both" : by_tokens ? "tokens" : by_reencoded ? "reencoded" : "none"},
                {"matched_windows", hits[i].matched},
                {"matched_windows_reencoded", hits_reencoded[i].matched}};
      if (sample_texts[i] != text) r["sample_text"] = sample_texts[i];
      const auto& hit = by_tokens ? hits[i] : hits_reencoded[i];
      if (by_tokens || by_reencoded) r["match"] = {{"document", hit.document}, {"offset", hit.offset}};
      const auto t_nll = text_nll(text_slot[i]), l_nll = text_nll(lower_slot[i]);
      if (t_nll) r["text_nll"] = *t_nll;
      if (window_nll) r["min_window_nll"] = *window_nll;
      if (l_nll) r["lower_nll"] = *l_nll;
      // The reference's log(ppl_lower) / log(ppl): undefined (NaN there) when the text's NLL is 0.
      if (t_nll && l_nll && *t_nll > 0) r["lowercase_ratio"] = *l_nll / *t_nll;
      if (ref_nll[i]) {
        r["ref_nll"] = *ref_nll[i];
        if (t_nll && *t_nll > 0) r["reference_ratio"] = *ref_nll[i] / *t_nll;
      }
      records.push_back(std::move(r));
    }
    return records;
  }

  json summarize(const std::vector<json>& records) const override {
    // Each signal: lower = more suspicious (the ratios ranked highest first are negated).
    using Signal = std::function<std::optional<double>(const json&)>;
    auto field = [](const char* key, double sign) -> Signal {
      return [key, sign](const json& r) -> std::optional<double> {
        if (!r.contains(key)) return std::nullopt;
        return sign * r.at(key).get<double>();
      };
    };
    const std::vector<std::tuple<std::string, Signal, std::string>> signals = {
        {"perplexity", field("text_nll", 1), "mean NLL of the sample's text re-encoded (the reference's "
                                             "calculatePerplexity), lowest first"},
        {"zlib",
         [](const json& r) -> std::optional<double> {
           if (!r.contains("text_nll")) return std::nullopt;
           const double nll = r.at("text_nll").get<double>();
           // The reference's zlib bytes / log(ppl), highest first; lower = more suspicious here. A
           // text of NLL 0 divides to infinity there (numpy), first of all.
           const double bytes = r.at("zlib_bytes").get<double>();
           return nll > 0 ? -bytes / nll : -std::numeric_limits<double>::infinity();
         },
         "zlib-compressed bytes of the text over its mean NLL (the reference's zlib / log(ppl)), highest first"},
        {"lowercase", field("lowercase_ratio", -1),
         "NLL(str.lower(text)) / NLL(text), both re-encoded with the target's tokenizer, highest first"},
        {"window", field("min_window_nll", 1), "lowest mean NLL over a window of the text's tokens, lowest first"},
        {"reference", field("reference_ratio", -1), "NLL_reference / NLL_target, highest first"}};
    int64_t memorized = 0, by_tokens = 0, by_reencoded = 0;
    for (const auto& r : records) {
      memorized += r.at("memorized").get<bool>();
      by_tokens += r.value("matched_windows", int64_t{0}) > 0;
      by_reencoded += r.value("matched_windows_reencoded", int64_t{0}) > 0;
    }
    json run = {{"items", records.size()}, {"strategy", strategy_}};
    run["dedup"] = {{"rule", dedup_rule_},
                    {"threshold", dedup_},
                    {"definition", dedup_rule_ == "containment"
                                       ? "a sample is dropped when |tri(s) ∩ tri(k)| >= threshold x |tri(s)| for a kept "
                                         "sample k, tri() the multiset of word trigrams (Carlini et al. 2021, section 6.1)"
                                       : "a sample is dropped when the Jaccard similarity of its token-trigram set with a "
                                         "kept sample's exceeds the threshold"}};
    if (!reference_ids_.empty())
      run["reference_ids"] =
          reference_ids_ == "reencoded" ? "the text re-encoded with the reference's own tokenizer"
          : reference_ids_ == "target"  ? "the target's ids (the reference's tokenizer gives every id the same text)"
                                        : "the target's ids (the reference has no tokenizer; the same vocabulary size)";
    run["protocol"] = "Carlini et al. 2021: " + strategy_ + " sampling; near-duplicates by " +
                      (dedup_rule_ == "containment" ? "the paper's word-trigram containment" : "token-trigram Jaccard (not the paper's)") +
                      "; corpus checked as sampled and after re-encoding";
    json out = {{"run", run}, {"metrics", json::array()}};
    auto add_count = [&out, &records](const std::string& name, double value, const std::string& what) {
      json m = metric_json(name, metrics::Interval{value, 0, 0, static_cast<int64_t>(records.size())}, what);
      m.erase("ci_low");
      m.erase("ci_high");
      out["metrics"].push_back(m);
    };
    add_count("memorized_sample_rate", records.empty() ? 0.0 : static_cast<double>(memorized) / records.size(),
              "fraction of all samples with a window found in the corpus, as sampled or re-encoded");
    add_count("corpus_hits_tokens", static_cast<double>(by_tokens), "samples with a window of their sampled tokens in the corpus");
    add_count("corpus_hits_reencoded", static_cast<double>(by_reencoded),
              "samples with a window of their decoded and re-encoded text in the corpus");
    json rows = json::array();
    json columns = {"signal"};
    for (int64_t k : precision_at_) columns.push_back("precision@" + std::to_string(k));
    // Each examined record's word trigrams (containment) or tokens (token-jaccard), computed once.
    std::vector<std::optional<metrics::WordTrigrams>> trigrams(records.size());
    std::vector<std::optional<std::vector<int64_t>>> tokens(records.size());
    auto is_duplicate = [&](size_t a, size_t b) {  // a tested against the kept b
      if (dedup_rule_ == "containment") {
        for (size_t i : {a, b})
          if (!trigrams[i]) {
            const json& r = records[i];
            trigrams[i] = metrics::word_trigrams(r.contains("sample_text") ? r.at("sample_text").get<std::string>()
                                                                            : r.at("text").get<std::string>());
          }
        return metrics::trigram_containment(*trigrams[a], *trigrams[b]) >= dedup_;
      }
      for (size_t i : {a, b})
        if (!tokens[i]) tokens[i] = records[i].at("tokens").get<std::vector<int64_t>>();
      return metrics::trigram_jaccard(*tokens[a], *tokens[b]) > dedup_;
    };
    json ran = json::array();
    for (const auto& [name, fn, definition] : signals) {
      std::vector<std::pair<double, size_t>> ranked;
      for (size_t i = 0; i < records.size(); ++i)
        if (auto v = fn(records[i])) ranked.emplace_back(*v, i);
      if (ranked.empty()) continue;
      ran.push_back({{"name", name}, {"definition", definition}, {"ranked", ranked.size()}});
      std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<size_t> kept;
      int64_t dropped = 0;
      const int64_t want = precision_at_.empty() ? 0 : *std::max_element(precision_at_.begin(), precision_at_.end());
      for (const auto& [v, i] : ranked) {
        if (static_cast<int64_t>(kept.size()) >= want) break;
        bool duplicate = false;
        for (size_t k : kept)
          if (is_duplicate(i, k)) {
            duplicate = true;
            break;
          }
        if (duplicate)
          ++dropped;
        else
          kept.push_back(i);
      }
      add_count("near_duplicates_dropped_" + name, static_cast<double>(dropped),
                "samples ranked by " + name + " dropped as near-duplicates (" + dedup_rule_ + ") before the top " +
                    std::to_string(want) + " were kept");
      json row = {name};
      for (int64_t k : precision_at_) {
        const int64_t n = std::min<int64_t>(k, static_cast<int64_t>(kept.size()));
        int64_t hits = 0;
        for (int64_t i = 0; i < n; ++i) hits += records[kept[static_cast<size_t>(i)]].at("memorized").get<bool>();
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
    out["run"]["signals"] = ran;
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
  std::string dedup_rule_ = "containment";
  double dedup_ = 0.5;
  // How the reference reads a sample: "" (no reference), "target" (the target's ids: the same
  // tokenizer), "target-no-tokenizer" (the target's ids: it has none, with the same vocabulary)
  // or "reencoded" (the text, encoded with its own tokenizer).
  std::string reference_ids_;
  std::string strategy_;
  std::vector<int64_t> precision_at_;
  std::vector<std::vector<int64_t>> prompt_docs_;
  std::unique_ptr<corpus::NgramIndex> index_;
};


}  // namespace

AttackInfo sample_and_rank_info() { return make_attack_info<SampleAndRank>("sample-and-rank", sample_and_rank_params()); }

}  // namespace eidetic::attacks
