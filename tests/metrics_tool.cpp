// tests/metrics_tool.cpp: a JSON front end to eidetic::metrics for tests/metrics_oracle.py,
// which compares membership-inference metrics (Carlini et al. 2022) with scikit-learn and the
// text metrics of extraction attacks (Carlini et al. 2021; Ippolito et al. 2022) with Python's
// zlib, a Python Levenshtein and NLTK's BLEU.
//
//   eidetic_metrics_tool < request.json > answer.json
//   request: {"roc": [{"scores": [x], "labels": [0|1], "max_fpr": [x]}],
//             "bootstrap_auc": [{"scores", "labels", "samples", "confidence", "seed"}],
//             "zlib": [str], "lower": [str], "edit": [[a, b]], "nedit": [[candidate, reference]],
//             "bleu": [[candidate, reference]], "jaccard": [[a, b]]}
//   answer:  the same keys; "roc" items are {"fpr", "tpr", "thresholds" (+inf as "inf"), "auc",
//            "tpr_at": [one per max_fpr]} or {"error": msg}; "bootstrap_auc" items
//            {"value", "low", "high", "n"} or {"error": msg}.
#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "metrics/membership.h"
#include "metrics/text_metrics.h"

namespace {

using json = nlohmann::json;
using Ids = std::vector<int64_t>;

json roc(const json& item) {
  const auto scores = item.at("scores").get<std::vector<double>>();
  const auto labels = item.at("labels").get<std::vector<int>>();
  const eidetic::metrics::RocCurve c = eidetic::metrics::roc_curve(scores, labels);
  json thresholds = json::array();
  for (double t : c.thresholds) thresholds.push_back(std::isinf(t) ? json(t > 0 ? "inf" : "-inf") : json(t));
  json tpr_at = json::array();
  if (item.contains("max_fpr"))
    for (const auto& f : item.at("max_fpr")) tpr_at.push_back(eidetic::metrics::tpr_at_fpr(c, f.get<double>()));
  return {{"fpr", c.fpr}, {"tpr", c.tpr}, {"thresholds", thresholds},
          {"auc", eidetic::metrics::roc_auc(scores, labels)}, {"tpr_at", tpr_at}};
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
