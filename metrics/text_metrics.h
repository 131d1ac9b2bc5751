// metrics/text_metrics.h: per-sample text measures used to rank and judge extracted text.
//
// - zlib entropy and lowercasing: the membership signals of Carlini et al. 2021 ("Extracting
//   Training Data from Large Language Models") rank generations by the ratio of the model's
//   perplexity to the zlib-compressed size of the text, and to the perplexity of the lowercased
//   text.
// - Token edit distance and BLEU-4: approximate memorization (Ippolito et al. 2022,
//   "Preventing Verbatim Memorization in Language Models Gives a False Sense of Privacy"): a
//   generation counts as memorized when its BLEU-4 against the true continuation is >= 0.75
//   (or, in other work, when its normalized edit distance is <= 0.1).
// - Trigram Jaccard similarity: near-duplicate removal among generations (Carlini et al. 2021
//   de-duplicate their candidates by trigram overlap).
// Plain C++ over token id vectors and UTF-8 strings; no libtorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace eidetic::metrics {

// The size of zlib's compression of the bytes of `text` at the default level (6), i.e.
// len(zlib.compress(text.encode("utf-8"))) in Python; uses the real zlib (header and Adler-32
// trailer included, as Python counts them).
int64_t zlib_compressed_bytes(const std::string& text);
// 8 * zlib_compressed_bytes(text): the zlib "entropy" in bits.
double zlib_entropy_bits(const std::string& text);

// `text` with ASCII A-Z mapped to a-z; every other byte (UTF-8 of non-ASCII characters
// included) is left as it is.
std::string to_lower_ascii(const std::string& text);

// Levenshtein distance over tokens: the fewest insertions, deletions and substitutions of one
// token each that turn `a` into `b`.
int64_t token_edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// token_edit_distance(candidate, reference) / max(len(reference), 1).
double normalized_edit_distance(const std::vector<int64_t>& candidate, const std::vector<int64_t>& reference);

// Sentence BLEU-4 of `candidate` against one `reference`, exactly as NLTK 3.10's
// sentence_bleu([reference], candidate, weights=(0.25,) * 4,
//               smoothing_function=SmoothingFunction(epsilon=0.1).method1) computes it:
//   p_n = (clipped n-gram matches) / max(1, n-grams in the candidate), n = 1..4;
//   0 when no unigram matches (p_1 = 0);
//   otherwise a p_n with no match becomes 0.1 / max(1, n-grams in the candidate) (method1);
//   BP = 1 if len(candidate) > len(reference), else exp(1 - len(reference) / len(candidate));
//   BLEU = BP * exp(fsum(0.25 * ln p_n)) (the log terms summed exactly, as math.fsum does).
double bleu4(const std::vector<int64_t>& candidate, const std::vector<int64_t>& reference);

// |A ∩ B| / |A ∪ B| over the sets of token trigrams (three consecutive tokens) of a and b.
// When neither has a trigram (both shorter than 3 tokens) it is 1 if a == b, else 0.
double trigram_jaccard(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

}  // namespace eidetic::metrics
