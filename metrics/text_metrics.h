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
// - Trigram Jaccard similarity over tokens, and the word-trigram containment rule by which
//   Carlini et al. 2021 (section 6.1) mark a sample as a near-duplicate of another.
// - Text-level sentence BLEU equal to sacrebleu's sentence_bleu defaults.
// - The zlib membership scores of mimir and of Carlini et al. 2021.
// Plain C++ over token id vectors and UTF-8 strings; no libtorch. Python's str.lower() is
// metrics/unicode_lower.h's to_lower_unicode.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace eidetic::metrics {

// The size of zlib's compression of the bytes of `text` at the default level (6), i.e.
// len(zlib.compress(text.encode("utf-8"))) in Python; uses the real zlib (header and Adler-32
// trailer included, as Python counts them).
int64_t zlib_compressed_bytes(const std::string& text);
// 8 * zlib_compressed_bytes(text): the zlib "entropy" in bits.
double zlib_entropy_bits(const std::string& text);

// mimir's zlib attack score (mimir/attacks/zlib.py): mean_nll / len(zlib.compress(text)), the
// model's mean token NLL in nats over zlib's compressed size in bytes. LOWER = more likely a
// member, as for every mimir score. Throws eidetic::Error when mean_nll is NaN or negative.
double zlib_ratio_score(double mean_nll, const std::string& text);

// Carlini et al. 2021's zlib ranking metric (ftramer/LM_Memorization extraction.py:
// scores["zlib"] / np.log(scores["XL"])): len(zlib.compress(text)) / mean_nll, the inverse of
// zlib_ratio_score. HIGHER = more likely memorized (samples are ranked descending). A mean NLL
// of 0 gives +inf, as NumPy's division does. Throws eidetic::Error when mean_nll is NaN or
// negative.
double zlib_over_nll(double mean_nll, const std::string& text);

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

// sacrebleu.sentence_bleu(hyp, [ref]).score with its defaults (sacrebleu 2.6.0): tokenizer
// '13a' (mteval-v13a: the line is right-stripped of Python whitespace, "<skipped>" and "-\n"
// removed, "\n" made a space, &quot; &amp; &lt; &gt; unescaped; ASCII punctuation other than
// ' , - . split off, "." and "," split off unless between digits, "-" after a digit split off;
// then split on Python whitespace), case-sensitive, n-grams up to 4, effective order (orders
// with no hypothesis n-gram are left out), 'exp' smoothing (the k-th order with no match gets
// precision 100 / (2^k * total)); 0 when no n-gram of any order matches; brevity penalty
// exp(1 - r/c) when c < r. Scale 0-100. Throws eidetic::Error on invalid UTF-8.
double sentence_bleu_text(const std::string& hyp, const std::string& ref);

// The words of Carlini et al. 2021's trigram rule ("words split on whitespace and punctuation
// characters"), read as: maximal runs of code points that are neither Python whitespace
// (str.isspace(): Unicode White_Space plus U+001C-U+001F) nor ASCII punctuation
// (string.punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~). Non-ASCII punctuation (e.g. U+2019,
// U+3002) stays inside words. Case is kept. Throws eidetic::Error on invalid UTF-8.
std::vector<std::string> duplicate_words(const std::string& text);

// Carlini et al. 2021, section 6.1: s1 is a near-duplicate of s2 iff
// |tri(s1) ∩ tri(s2)| >= |tri(s1)| / 2, tri() the multiset of word trigrams of duplicate_words
// and ∩ the multiset intersection (the smaller count of each trigram). Asymmetric: normalised by
// s1, the sample tested. When s1 has fewer than 3 words it has no trigram and the rule would hold
// vacuously (0 >= 0); then s1 is a duplicate only when its word list equals s2's.
bool trigram_containment_duplicate(const std::string& s1, const std::string& s2);

// The same rule with its threshold and its multisets apart, for comparing one sample with many:
// word_trigrams(text) is computed once per text (duplicate_words and tri()), and
// trigram_containment(s1, s2) is |tri(s1) ∩ tri(s2)| / |tri(s1)|, the fraction of s1's
// trigrams (with multiplicity) that s2 also holds; when s1 has fewer than 3 words, 1 if its word
// list equals s2's, else 0. trigram_containment_duplicate(s1, s2) is exactly
// trigram_containment(word_trigrams(s1), word_trigrams(s2)) >= 0.5 (a fraction below one half
// never rounds up to it). Throws eidetic::Error on invalid UTF-8.
struct WordTrigrams {
  std::vector<std::string> words;                      // duplicate_words(text)
  std::map<std::vector<std::string>, int64_t> counts;  // tri(text): trigram -> multiplicity
  int64_t total = 0;                                   // |tri(text)|
};
WordTrigrams word_trigrams(const std::string& text);
double trigram_containment(const WordTrigrams& s1, const WordTrigrams& s2);

}  // namespace eidetic::metrics
