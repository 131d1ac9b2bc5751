// tests/metrics_tool.cpp: a JSON front end to eidetic::metrics for tests/metrics_oracle.py,
// which compares membership-inference metrics (Carlini et al. 2022; mimir) with scikit-learn,
// the Secret Sharer exposure with scipy and TF Privacy's formulas, and the text metrics of
// extraction attacks (Carlini et al. 2021; Ippolito et al. 2022) with Python's zlib and
// str.lower(), a Python Levenshtein, NLTK's and sacrebleu's BLEU.
//
//   eidetic_metrics_tool < request.json > answer.json
//   request: {"roc": [{"scores": [x], "labels": [0|1], "max_fpr": [x], "below_fpr": [x]}],
//             "bootstrap_auc": [{"scores", "labels", "samples", "confidence", "seed"}],
//             "pr_auc": [{"scores", "labels"}], "measurable": [[non_members, bound]],
//             "owens_t": [[h, a]], "skewnorm": [{"a", "loc", "scale", "x": [x]}],
//             "skewnorm_fit": [[x]], "exposure_ext": [{"secret", "references"}],
//             "exposure_int": [{"secret", "references"}],
//             "zlib": [str], "zlib_scores": [[mean_nll, str]], "lower": [str],
//             "lower_unicode": [str], "lower_unicode_bytes": [[byte]], "edit": [[a, b]],
//             "nedit": [[candidate, reference]], "bleu": [[candidate, reference]], "bleu_text": [[hyp, ref]], "jaccard": [[a, b]],
//             "words": [str], "duplicate": [[s1, s2]], "containment": [[s1, s2]]}
//   answer:  the same keys, one item per request item or {"error": msg} for that item; "roc"
//            items are {"fpr", "tpr", "thresholds" (+inf as "inf"), "auc", "tpr_at": [one per
//            max_fpr], "dropped": the roc_curve_drop_intermediate curve {"fpr", "tpr",
//            "thresholds"}, "below": [tpr_below_fpr on the full curve, one per below_fpr],
//            "mimir": [mimir_tpr_at_fpr, one per below_fpr]} (a failing below/mimir entry is
//            {"error": msg}); "bootstrap_auc" items {"value", "low", "high", "n"}; "skewnorm"
//            items {"pdf": [..], "logpdf": [..], "cdf": [..]}; "skewnorm_fit" items {"a", "loc",
//            "scale", "loglik"}; "exposure_ext" items {"exposure" (+inf as "inf"), "unbounded",
//            "cdf", "a", "loc", "scale"}; "exposure_int" items {"exposure", "rank"};
//            "zlib_scores" items [zlib_ratio_score, zlib_over_nll (+inf as "inf")];
//            "lower_unicode_bytes" items the lowercase's bytes; "containment" items
//            trigram_containment(word_trigrams(s1), word_trigrams(s2)); the answer
//            also holds "unicode_version", the lowercasing tables' Unicode version.
//   ReCaLL and held-out choice (metrics/membership.h): request "recall_kept": [{"tokens": [n],
//   "avg", "max"}] (answer: shots kept, from the end), "recall_windows": [[prefix, text, max]]
//   (answer: [[begin, end]]), "recall_ll": [{"windows": [[logprob]], "prefix", "text", "max"}],
//   "recall_score": [[conditional_ll, mean_ll]], "holdout_split": [{"ids", "labels", "fraction",
//   "seed"}] (answer: [bool]), "choose_holdout": [{"candidates": [[x]], "labels", "holdout":
//   [bool]}] (answer: {"holdout_auc", "chosen", "eval_auc"}).
#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "metrics/exposure.h"
#include "metrics/membership.h"
#include "metrics/text_metrics.h"
#include "metrics/unicode_lower.h"

namespace {

using json = nlohmann::json;
using Ids = std::vector<int64_t>;

json number(double x) { return std::isinf(x) ? json(x > 0 ? "inf" : "-inf") : json(x); }

json roc(const json& item) {
  namespace m = eidetic::metrics;
  const auto scores = item.at("scores").get<std::vector<double>>();
  const auto labels = item.at("labels").get<std::vector<int>>();
  const m::RocCurve c = m::roc_curve(scores, labels);
  const m::RocCurve d = m::roc_curve_drop_intermediate(scores, labels);
  auto thresholds = [](const m::RocCurve& k) {
    json t = json::array();
    for (double x : k.thresholds) t.push_back(number(x));
    return t;
  };
  json tpr_at = json::array(), below = json::array(), mimir = json::array();
  if (item.contains("max_fpr"))
    for (const auto& f : item.at("max_fpr")) tpr_at.push_back(m::tpr_at_fpr(c, f.get<double>()));
  auto guarded = [](auto&& f) {
    try {
      return json(f());
    } catch (const eidetic::Error& e) {
      return json{{"error", e.what()}};
    }
  };
  if (item.contains("below_fpr"))
    for (const auto& f : item.at("below_fpr")) {
      const double b = f.get<double>();
      below.push_back(guarded([&] { return m::tpr_below_fpr(c, b); }));
      mimir.push_back(guarded([&] { return m::mimir_tpr_at_fpr(scores, labels, b); }));
    }
  return {{"fpr", c.fpr}, {"tpr", c.tpr}, {"thresholds", thresholds(c)}, {"auc", m::roc_auc(scores, labels)},
          {"tpr_at", tpr_at}, {"dropped", {{"fpr", d.fpr}, {"tpr", d.tpr}, {"thresholds", thresholds(d)}}},
          {"below", below}, {"mimir", mimir}};
}

eidetic::metrics::SkewNormal skew_params(const json& item) {
  return {item.at("a").get<double>(), item.at("loc").get<double>(), item.at("scale").get<double>()};
}

json bootstrap(const json& item) {
  const auto i = eidetic::metrics::bootstrap_auc(item.at("scores").get<std::vector<double>>(),
                                                 item.at("labels").get<std::vector<int>>(), item.value("samples", 1000),
                                                 item.value("confidence", 0.95), item.value("seed", uint64_t{0}));
  return {{"value", i.value}, {"low", i.low}, {"high", i.high}, {"n", i.n}};
}

template <class F>
json each(const json& items, F&& f) {
  json out = json::array();
  for (const auto& item : items) {
    try {
      out.push_back(f(item));
    } catch (const eidetic::Error& e) {
      out.push_back({{"error", e.what()}});
    }
  }
  return out;
}

}  // namespace

int main() {
  try {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    const json request = json::parse(ss.str());
    json answer = json::object();
    namespace m = eidetic::metrics;
    if (request.contains("roc")) answer["roc"] = each(request["roc"], roc);
    if (request.contains("bootstrap_auc")) answer["bootstrap_auc"] = each(request["bootstrap_auc"], bootstrap);
    if (request.contains("pr_auc"))
      answer["pr_auc"] = each(request["pr_auc"], [](const json& c) {
        return json(m::pr_auc(c.at("scores").get<std::vector<double>>(), c.at("labels").get<std::vector<int>>()));
      });
    if (request.contains("measurable"))
      answer["measurable"] = each(request["measurable"], [](const json& p) {
        return json(m::tpr_at_fpr_measurable(p.at(0).get<int64_t>(), p.at(1).get<double>()));
      });
    if (request.contains("owens_t"))
      answer["owens_t"] = each(request["owens_t"], [](const json& p) { return json(m::owens_t(p.at(0), p.at(1))); });
    if (request.contains("skewnorm"))
      answer["skewnorm"] = each(request["skewnorm"], [](const json& c) {
        const m::SkewNormal d = skew_params(c);
        json pdf = json::array(), logpdf = json::array(), cdf = json::array();
        for (const auto& x : c.at("x")) {
          pdf.push_back(m::skewnorm_pdf(x, d));
          logpdf.push_back(number(m::skewnorm_logpdf(x, d)));
          cdf.push_back(m::skewnorm_cdf(x, d));
        }
        return json{{"pdf", pdf}, {"logpdf", logpdf}, {"cdf", cdf}};
      });
    if (request.contains("skewnorm_fit"))
      answer["skewnorm_fit"] = each(request["skewnorm_fit"], [](const json& data) {
        const auto x = data.get<std::vector<double>>();
        const m::SkewNormal d = m::fit_skewnorm(x);
        return json{{"a", d.a}, {"loc", d.loc}, {"scale", d.scale}, {"loglik", m::skewnorm_log_likelihood(x, d)}};
      });
    if (request.contains("exposure_ext"))
      answer["exposure_ext"] = each(request["exposure_ext"], [](const json& c) {
        const auto e = m::exposure_extrapolation(c.at("secret"), c.at("references").get<std::vector<double>>());
        return json{{"exposure", number(e.exposure)}, {"unbounded", e.unbounded}, {"cdf", e.cdf},
                    {"a", e.fit.a}, {"loc", e.fit.loc}, {"scale", e.fit.scale}};
      });
    if (request.contains("exposure_int"))
      answer["exposure_int"] = each(request["exposure_int"], [](const json& c) {
        const auto e = m::exposure_interpolation(c.at("secret"), c.at("references").get<std::vector<double>>());
        return json{{"exposure", e.exposure}, {"rank", e.rank}};
      });
    if (request.contains("zlib_scores"))
      answer["zlib_scores"] = each(request["zlib_scores"], [](const json& p) {
        const double nll = p.at(0);
        const auto text = p.at(1).get<std::string>();
        return json::array({m::zlib_ratio_score(nll, text), number(m::zlib_over_nll(nll, text))});
      });
    if (request.contains("lower_unicode"))
      answer["lower_unicode"] = each(request["lower_unicode"], [](const json& s) {
        return json(m::to_lower_unicode(s.get<std::string>()));
      });
    if (request.contains("lower_unicode_bytes"))  // raw bytes, to reach invalid UTF-8
      answer["lower_unicode_bytes"] = each(request["lower_unicode_bytes"], [](const json& b) {
        std::string s;
        for (const auto& x : b) s.push_back(static_cast<char>(x.get<int>()));
        const std::string low = m::to_lower_unicode(s);
        return json(std::vector<int>(reinterpret_cast<const unsigned char*>(low.data()),
                                     reinterpret_cast<const unsigned char*>(low.data()) + low.size()));
      });
    if (request.contains("bleu_text"))
      answer["bleu_text"] = each(request["bleu_text"], [](const json& p) {
        return json(m::sentence_bleu_text(p.at(0).get<std::string>(), p.at(1).get<std::string>()));
      });
    if (request.contains("words"))
      answer["words"] = each(request["words"], [](const json& s) { return json(m::duplicate_words(s.get<std::string>())); });
    if (request.contains("duplicate"))
      answer["duplicate"] = each(request["duplicate"], [](const json& p) {
        return json(m::trigram_containment_duplicate(p.at(0).get<std::string>(), p.at(1).get<std::string>()));
      });
    if (request.contains("containment"))
      answer["containment"] = each(request["containment"], [](const json& p) {
        return json(m::trigram_containment(m::word_trigrams(p.at(0).get<std::string>()),
                                           m::word_trigrams(p.at(1).get<std::string>())));
      });
    if (request.contains("recall_kept"))
      answer["recall_kept"] = each(request["recall_kept"], [](const json& c) {
        return json(m::recall_shots_kept(c.at("tokens").get<Ids>(), c.at("avg").get<int64_t>(), c.at("max").get<int64_t>()));
      });
    if (request.contains("recall_windows"))
      answer["recall_windows"] = each(request["recall_windows"], [](const json& p) {
        json out = json::array();
        for (const auto& w : m::recall_windows(p.at(0).get<int64_t>(), p.at(1).get<int64_t>(), p.at(2).get<int64_t>()))
          out.push_back({w.begin, w.end});
        return out;
      });
    if (request.contains("recall_ll"))
      answer["recall_ll"] = each(request["recall_ll"], [](const json& c) {
        return json(m::recall_conditional_ll(c.at("windows").get<std::vector<std::vector<double>>>(), c.at("prefix").get<int64_t>(),
                                             c.at("text").get<int64_t>(), c.at("max").get<int64_t>()));
      });
    if (request.contains("recall_score"))
      answer["recall_score"] = each(request["recall_score"], [](const json& p) {
        return json(m::recall_score(p.at(0).get<double>(), p.at(1).get<double>()));
      });
    if (request.contains("holdout_split"))
      answer["holdout_split"] = each(request["holdout_split"], [](const json& c) {
        return json(m::holdout_split(c.at("ids").get<Ids>(), c.at("labels").get<std::vector<int>>(), c.at("fraction").get<double>(),
                                     c.at("seed").get<uint64_t>()));
      });
    if (request.contains("choose_holdout"))
      answer["choose_holdout"] = each(request["choose_holdout"], [](const json& c) {
        const auto r = m::choose_by_holdout_auc(c.at("candidates").get<std::vector<std::vector<double>>>(),
                                                c.at("labels").get<std::vector<int>>(), c.at("holdout").get<std::vector<bool>>());
        return json{{"holdout_auc", r.holdout_auc}, {"chosen", r.chosen}, {"eval_auc", r.eval_auc}};
      });
    answer["unicode_version"] = m::unicode_lower_version();
    if (request.contains("zlib"))
      answer["zlib"] = each(request["zlib"], [](const json& s) { return json(m::zlib_compressed_bytes(s.get<std::string>())); });
    if (request.contains("lower"))
      answer["lower"] = each(request["lower"], [](const json& s) { return json(m::to_lower_ascii(s.get<std::string>())); });
    if (request.contains("edit"))
      answer["edit"] = each(request["edit"], [](const json& p) {
        return json(m::token_edit_distance(p.at(0).get<Ids>(), p.at(1).get<Ids>()));
      });
    if (request.contains("nedit"))
      answer["nedit"] = each(request["nedit"], [](const json& p) {
        return json(m::normalized_edit_distance(p.at(0).get<Ids>(), p.at(1).get<Ids>()));
      });
    if (request.contains("bleu"))
      answer["bleu"] = each(request["bleu"], [](const json& p) { return json(m::bleu4(p.at(0).get<Ids>(), p.at(1).get<Ids>())); });
    if (request.contains("jaccard"))
      answer["jaccard"] = each(request["jaccard"], [](const json& p) {
        return json(m::trigram_jaccard(p.at(0).get<Ids>(), p.at(1).get<Ids>()));
      });
    std::cout << answer.dump() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
