// metrics/text_metrics.cpp: zlib entropy and scores (Carlini et al. 2021, mimir), token edit
// distance, BLEU-4 (Ippolito et al. 2022's approximate memorization), sacrebleu's sentence BLEU,
// trigram Jaccard similarity and the word-trigram near-duplicate rule; see text_metrics.h.
#include "metrics/text_metrics.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string_view>

#include "common/error.h"
#include "metrics/unicode_lower.h"

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

void check_nll(double mean_nll, const char* what) {
  if (std::isnan(mean_nll) || mean_nll < 0)
    throw Error(std::string(what) + ": the mean NLL must be a non-negative number, got " + std::to_string(mean_nll));
}

using U32 = std::u32string;

// Python's str.replace(from, to): every non-overlapping occurrence, left to right.
U32 replace_all(const U32& s, std::u32string_view from, std::u32string_view to) {
  U32 out;
  size_t i = 0;
  while (true) {
    const size_t j = s.find(from, i);
    if (j == U32::npos) break;
    out.append(s, i, j - i);
    out.append(to);
    i = j + from.size();
  }
  out.append(s, i, U32::npos);
  return out;
}

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

// sacrebleu's Tokenizer13a (with TokenizerRegexp), applied after BLEU's rstrip().
std::vector<std::string> tokenize_13a(const std::string& text) {
  U32 s = decode_utf8(text, "sentence_bleu_text");
  while (!s.empty() && is_python_space(s.back())) s.pop_back();
  s = replace_all(s, U"<skipped>", U"");
  s = replace_all(s, U"-\n", U"");
  s = replace_all(s, U"\n", U" ");
  if (s.find(U'&') != U32::npos) {
    s = replace_all(s, U"&quot;", U"\"");
    s = replace_all(s, U"&amp;", U"&");
    s = replace_all(s, U"&lt;", U"<");
    s = replace_all(s, U"&gt;", U">");
  }
  s = U" " + s + U" ";
  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 ": ASCII punctuation but ' , - . (and space).
  U32 t;
  for (char32_t c : s) {
    if ((c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2B) ||
        (c >= 0x3A && c <= 0x40) || c == 0x2F) {
      t += U' ';
      t += c;
      t += U' ';
    } else {
      t += c;
    }
  }
  // The three two-character rules, each one re.sub pass: a match consumes both characters.
  auto pass = [](const U32& in, auto matches, auto emit) {
    U32 out;
    size_t i = 0;
    while (i < in.size()) {
      if (i + 1 < in.size() && matches(in[i], in[i + 1])) {
        emit(out, in[i], in[i + 1]);
        i += 2;
      } else {
        out += in[i++];
      }
    }
    return out;
  };
  auto dot_comma = [](char32_t c) { return c == U'.' || c == U','; };
  // ([^0-9])([\.,]) -> "\1 \2 "
  t = pass(t, [&](char32_t a, char32_t b) { return !is_digit(a) && dot_comma(b); },
           [](U32& o, char32_t a, char32_t b) { o += a, o += U' ', o += b, o += U' '; });
  // ([\.,])([^0-9]) -> " \1 \2"
  t = pass(t, [&](char32_t a, char32_t b) { return dot_comma(a) && !is_digit(b); },
           [](U32& o, char32_t a, char32_t b) { o += U' ', o += a, o += U' ', o += b; });
  // ([0-9])(-) -> "\1 \2 "
  t = pass(t, [](char32_t a, char32_t b) { return is_digit(a) && b == U'-'; },
           [](U32& o, char32_t a, char32_t b) { o += a, o += U' ', o += b, o += U' '; });
  std::vector<std::string> tokens;
  std::string cur;
  bool in_token = false;
  for (char32_t c : t) {
    if (is_python_space(c)) {
      if (in_token) tokens.push_back(cur), cur.clear(), in_token = false;
    } else {
      append_utf8(cur, c);
      in_token = true;
    }
  }
  if (in_token) tokens.push_back(cur);
  return tokens;
}

using Ngram = std::vector<std::string>;

std::map<Ngram, int64_t> word_ngrams(const std::vector<std::string>& tokens, size_t n) {
  std::map<Ngram, int64_t> counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) ++counts[Ngram(tokens.begin() + i, tokens.begin() + i + n)];
  return counts;
}

bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
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

double zlib_ratio_score(double mean_nll, const std::string& text) {
  check_nll(mean_nll, "zlib_ratio_score");
  return mean_nll / static_cast<double>(zlib_compressed_bytes(text));
}

double zlib_over_nll(double mean_nll, const std::string& text) {
  check_nll(mean_nll, "zlib_over_nll");
  return static_cast<double>(zlib_compressed_bytes(text)) / mean_nll;
}

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

double sentence_bleu_text(const std::string& hyp, const std::string& ref) {
  constexpr size_t kOrder = 4;
  const std::vector<std::string> h = tokenize_13a(hyp), r = tokenize_13a(ref);
  std::array<int64_t, kOrder> correct{}, total{};
  for (size_t n = 1; n <= kOrder; ++n) {
    const auto hc = word_ngrams(h, n), rc = word_ngrams(r, n);
    for (const auto& [gram, count] : hc) {
      total[n - 1] += count;
      const auto it = rc.find(gram);
      if (it != rc.end()) correct[n - 1] += std::min(count, it->second);
    }
  }
  const auto sys_len = static_cast<int64_t>(h.size()), ref_len = static_cast<int64_t>(r.size());
  double bp = 1.0;
  if (sys_len < ref_len)
    bp = sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len)) : 0.0;
  if (std::all_of(correct.begin(), correct.end(), [](int64_t c) { return c == 0; })) return 0.0;
  std::array<double, kOrder> precision{};
  double smooth = 1.0;
  size_t eff_order = kOrder;
  for (size_t n = 1; n <= kOrder; ++n) {
    if (total[n - 1] == 0) break;
    eff_order = n;
    if (correct[n - 1] == 0) {
      smooth *= 2;
      precision[n - 1] = 100.0 / (smooth * static_cast<double>(total[n - 1]));
    } else {
      precision[n - 1] = 100.0 * static_cast<double>(correct[n - 1]) / static_cast<double>(total[n - 1]);
    }
  }
  // sum([my_log(p) ...]) in order from 0 (Python's built-in sum; no precision is 0 here).
  double log_sum = 0.0;
  for (size_t n = 0; n < eff_order; ++n) log_sum += std::log(precision[n]);
  return bp * std::exp(log_sum / static_cast<double>(eff_order));
}

std::vector<std::string> duplicate_words(const std::string& text) {
  const std::u32string s = decode_utf8(text, "duplicate_words");
  std::vector<std::string> words;
  std::string cur;
  for (char32_t c : s) {
    if (is_python_space(c) || is_ascii_punctuation(c)) {
      if (!cur.empty()) words.push_back(cur), cur.clear();
    } else {
      append_utf8(cur, c);
    }
  }
  if (!cur.empty()) words.push_back(cur);
  return words;
}

bool trigram_containment_duplicate(const std::string& s1, const std::string& s2) {
  const std::vector<std::string> w1 = duplicate_words(s1), w2 = duplicate_words(s2);
  if (w1.size() < 3) return w1 == w2;
  const auto t1 = word_ngrams(w1, 3), t2 = word_ngrams(w2, 3);
  int64_t shared = 0;
  for (const auto& [gram, count] : t1) {
    const auto it = t2.find(gram);
    if (it != t2.end()) shared += std::min(count, it->second);
  }
  const auto n1 = static_cast<int64_t>(w1.size() - 2);  // |tri(s1)|
  return 2 * shared >= n1;                               // |∩| >= |tri(s1)| / 2, in integers
}

WordTrigrams word_trigrams(const std::string& text) {
  WordTrigrams t;
  t.words = duplicate_words(text);
  t.counts = word_ngrams(t.words, 3);
  t.total = t.words.size() < 3 ? 0 : static_cast<int64_t>(t.words.size() - 2);
  return t;
}

double trigram_containment(const WordTrigrams& s1, const WordTrigrams& s2) {
  if (s1.words.size() < 3) return s1.words == s2.words ? 1.0 : 0.0;
  int64_t shared = 0;
  for (const auto& [gram, count] : s1.counts) {
    const auto it = s2.counts.find(gram);
    if (it != s2.counts.end()) shared += std::min(count, it->second);
  }
  return static_cast<double>(shared) / static_cast<double>(s1.total);
}

}  // namespace eidetic::metrics
