// metrics/text_metrics.cpp: zlib entropy (Carlini et al. 2021), token edit distance, BLEU-4
// (Ippolito et al. 2022's approximate memorization) and trigram Jaccard similarity; see
// text_metrics.h.
#include "metrics/text_metrics.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "common/error.h"

namespace eidetic::metrics {
namespace {

// Python's math.fsum (CPython's msum: Shewchuk's exact partials, then a correctly rounded
// total with the half-way correction), so that bleu4 rounds exactly as NLTK does.
double python_fsum(const std::vector<double>& values) {
  std::vector<double> partials;
  for (double v : values) {
    double x = v;
    size_t i = 0;
    for (double y : partials) {
      if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
      const double hi = x + y;
      const double lo = y - (hi - x);
      if (lo != 0.0) partials[i++] = lo;
      x = hi;
    }
    partials.resize(i);
    partials.push_back(x);
  }
  size_t n = partials.size();
  double hi = 0.0;
  if (n > 0) {
    hi = partials[--n];
    double lo = 0.0;
    while (n > 0) {
      const double x = hi;
      const double y = partials[--n];
      hi = x + y;
      const double yr = hi - x;
      lo = y - yr;
      if (lo != 0.0) break;
    }
    if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
      const double y = lo * 2;
      const double x = hi + y;
      const double yr = x - hi;
      if (y == yr) hi = x;
    }
  }
  return hi;
}

using Gram = std::array<int64_t, 4>;  // an n-gram, n <= 4, unused places 0

std::map<Gram, int64_t> count_ngrams(const std::vector<int64_t>& tokens, size_t n) {
  std::map<Gram, int64_t> counts;
  if (tokens.size() < n) return counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    Gram g{};
    for (size_t k = 0; k < n; ++k) g[k] = tokens[i + k];
    ++counts[g];
  }
  return counts;
}

std::vector<std::array<int64_t, 3>> trigram_set(const std::vector<int64_t>& t) {
  std::vector<std::array<int64_t, 3>> s;
  for (size_t i = 0; i + 3 <= t.size(); ++i) s.push_back({t[i], t[i + 1], t[i + 2]});
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return s;
}

}  // namespace

int64_t zlib_compressed_bytes(const std::string& text) {
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> out(size);
  const int rc = compress2(out.data(), &size, reinterpret_cast<const Bytef*>(text.data()),
                           static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION);
  if (rc != Z_OK) throw Error("zlib_compressed_bytes: zlib's compress2 failed with code " + std::to_string(rc));
  return static_cast<int64_t>(size);
}

double zlib_entropy_bits(const std::string& text) { return 8.0 * static_cast<double>(zlib_compressed_bytes(text)); }

std::string to_lower_ascii(const std::string& text) {
  std::string out = text;
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int64_t token_edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const std::vector<int64_t>& s = a.size() < b.size() ? b : a;  // rows over the longer one
  const std::vector<int64_t>& t = a.size() < b.size() ? a : b;
  std::vector<int64_t> prev(t.size() + 1), cur(t.size() + 1);
  for (size_t j = 0; j <= t.size(); ++j) prev[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= s.size(); ++i) {
    cur[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= t.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (s[i - 1] == t[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[t.size()];
}

double normalized_edit_distance(const std::vector<int64_t>& candidate, const std::vector<int64_t>& reference) {
  return static_cast<double>(token_edit_distance(candidate, reference)) /
         static_cast<double>(std::max<size_t>(reference.size(), 1));
}

double bleu4(const std::vector<int64_t>& candidate, const std::vector<int64_t>& reference) {
  constexpr double kEpsilon = 0.1;  // SmoothingFunction's default epsilon
  std::vector<double> logs;
  for (size_t n = 1; n <= 4; ++n) {
    const auto cand = count_ngrams(candidate, n);
    const auto ref = count_ngrams(reference, n);
    int64_t matches = 0, total = 0;
    for (const auto& [gram, count] : cand) {
      total += count;
      const auto it = ref.find(gram);
      if (it != ref.end()) matches += std::min(count, it->second);
    }
    const double denominator = static_cast<double>(std::max<int64_t>(1, total));
    if (n == 1 && matches == 0) return 0.0;  // NLTK returns 0 before smoothing
    const double p = matches == 0 ? kEpsilon / denominator : static_cast<double>(matches) / denominator;
    logs.push_back(0.25 * std::log(p));
  }
  const double hyp = static_cast<double>(candidate.size()), ref = static_cast<double>(reference.size());
  const double bp = candidate.size() > reference.size() ? 1.0 : std::exp(1.0 - ref / hyp);
  return bp * std::exp(python_fsum(logs));
}

double trigram_jaccard(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const auto sa = trigram_set(a), sb = trigram_set(b);
  if (sa.empty() && sb.empty()) return a == b ? 1.0 : 0.0;
  size_t shared = 0;
  for (size_t i = 0, j = 0; i < sa.size() && j < sb.size();) {
    if (sa[i] < sb[j])
      ++i;
    else if (sb[j] < sa[i])
      ++j;
    else
      ++shared, ++i, ++j;
  }
  return static_cast<double>(shared) / static_cast<double>(sa.size() + sb.size() - shared);
}

}  // namespace eidetic::metrics
