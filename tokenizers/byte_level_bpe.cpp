// tokenizers/byte_level_bpe.cpp: byte-level BPE equal to Hugging Face `tokenizers` (see
// byte_level_bpe.h). The steps mirror HF's pipeline one for one, because its quirks are part of
// the ids: added tokens are matched leftmost-longest, first the non-normalized ones on the raw
// text, then the normalized ones on each NFC-normalized remaining piece; each piece that is left
// gets the prefix space (when configured) and is cut by the GPT-2 regex, implemented here by
// hand over code points; each word's bytes are mapped to GPT-2's printable alphabet and merged
// pair by pair, lowest rank first (leftmost on ties), with a cache of words already seen.
#include "tokenizers/byte_level_bpe.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/read_file.h"
#include "tokenizers/unicode.h"

namespace eidetic::tok {
namespace {

using unicode::RegexClass;

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the others to U+0100 + n.
std::array<char32_t, 256> make_byte_to_char() {
  std::array<char32_t, 256> map{};
  std::array<bool, 256> direct{};
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  char32_t n = 0;
  for (int b = 0; b < 256; ++b) map[b] = direct[b] ? char32_t(b) : 0x100 + n++;
  return map;
}

const std::array<char32_t, 256>& byte_to_char() {
  static const std::array<char32_t, 256> map = make_byte_to_char();
  return map;
}

// Byte-level string of raw bytes.
std::string to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) unicode::append_utf8(out, byte_to_char()[static_cast<unsigned char>(b)]);
  return out;
}

// What HF's ByteLevel decoder makes of one token string: its bytes when every character is in
// the byte alphabet, else the token's own UTF-8.
std::string byte_level_decode_token(const std::string& token) {
  static const std::unordered_map<char32_t, unsigned char> char_to_byte = [] {
    std::unordered_map<char32_t, unsigned char> m;
    for (int b = 0; b < 256; ++b) m[byte_to_char()[b]] = static_cast<unsigned char>(b);
    return m;
  }();
  std::string out;
  std::size_t pos = 0;
  while (pos < token.size()) {
    auto it = char_to_byte.find(unicode::next_code_point(token, pos));
    if (it == char_to_byte.end()) return token;
    out.push_back(static_cast<char>(it->second));
  }
  return out;
}

// Byte trie over added-token patterns, for leftmost-longest matching.
class PatternTrie {
 public:
  void insert(const std::string& pattern, std::size_t value) {
    std::size_t node = 0;
    for (unsigned char b : pattern) {
      const std::uint64_t key = (std::uint64_t{node} << 8) | b;
      auto it = edges_.find(key);
      if (it == edges_.end()) {
        terminal_.push_back(kNone);
        it = edges_.emplace(key, terminal_.size() - 1).first;
      }
      node = it->second;
    }
    first_byte_[static_cast<unsigned char>(pattern[0])] = true;
    if (terminal_[node] == kNone) terminal_[node] = value;  // first token with a pattern wins
    empty_ = false;
  }
  bool empty() const { return empty_; }

  struct Match {
    std::size_t start, end, value;
  };
  // The leftmost match at or after `from`, the longest among those starting there.
  std::optional<Match> find(std::string_view s, std::size_t from) const {
    for (std::size_t i = from; i < s.size(); ++i) {
      if (!first_byte_[static_cast<unsigned char>(s[i])]) continue;
      std::size_t node = 0, best_end = 0, best_value = kNone;
      for (std::size_t j = i; j < s.size(); ++j) {
        auto it = edges_.find((std::uint64_t{node} << 8) | static_cast<unsigned char>(s[j]));
        if (it == edges_.end()) break;
        node = it->second;
        if (terminal_[node] != kNone) {
          best_end = j + 1;
          best_value = terminal_[node];
        }
      }
      if (best_value != kNone) return Match{i, best_end, best_value};
    }
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::unordered_map<std::uint64_t, std::size_t> edges_;
  std::vector<std::size_t> terminal_{kNone};  // node 0 is the root
  std::array<bool, 256> first_byte_{};
  bool empty_ = true;
};

struct AddedEntry {
  AddedTokenSpec spec;
  int64_t id;
};

// A piece of the input, and the id of the added token it is (-1: text still to tokenize).
struct Split {
  std::string text;
  int64_t added_id = -1;
};

class ByteLevelBpe final : public Tokenizer {
  friend std::vector<std::string> eidetic::tok::byte_level_pretokenize(std::string_view text, PreTokenizer pre);

 public:
  explicit ByteLevelBpe(BpeSpec spec) : spec_(std::move(spec)) {
    if (spec_.pre == PreTokenizer::qwen2) spec_.nfc = true;  // Qwen2's pipeline normalizes to NFC
    build();
  }

  std::vector<int64_t> encode(std::string_view text) const override {
    unicode::validate_utf8(text);
    std::vector<int64_t> ids;
    if (text.empty()) return ids;
    // 1. Non-normalized added tokens on the raw text.
    std::vector<Split> first = find_added(std::string(text), raw_trie_);
    for (Split& piece : first) {
      if (piece.added_id >= 0) {
        ids.push_back(piece.added_id);
        continue;
      }
      // 2. Normalize, then the normalized added tokens.
      std::string normalized = spec_.nfc ? unicode::nfc(piece.text) : std::move(piece.text);
      for (Split& sub : find_added(std::move(normalized), normalized_trie_)) {
        if (sub.added_id >= 0) {
          ids.push_back(sub.added_id);
        } else {
          pre_tokenize_and_merge(sub.text, ids);
        }
      }
    }
    return ids;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string out;
    bool first = true;
    for (int64_t id : ids) {
      if (id < 0 || id >= vocab_size_ || !has_token_[static_cast<std::size_t>(id)])
        throw Error(spec_.source + ": cannot decode id " + std::to_string(id) +
                    ": not in the vocabulary (size " + std::to_string(vocab_size_) + ")");
      if (spec_.byte_level_decoder) {
        out += decoded_[static_cast<std::size_t>(id)];
      } else {
        if (!first) out += ' ';
        out += token_[static_cast<std::size_t>(id)];
      }
      first = false;
    }
    return spec_.byte_level_decoder ? unicode::utf8_lossy(out) : out;
  }

  int64_t vocab_size() const override { return vocab_size_; }
  std::optional<int64_t> bos_id() const override { return bos_; }
  std::optional<int64_t> eos_id() const override { return eos_; }
  std::string kind() const override { return "bpe"; }

 private:
  struct Symbol {
    std::uint32_t c;
    std::int32_t prev, next;
    bool alive;
  };
  struct Merge {
    std::uint32_t rank;
    std::uint32_t pos;
    std::uint32_t new_id;
  };
  struct MergeLater {  // priority_queue puts the "largest" first: lowest rank, then lowest pos
    bool operator()(const Merge& a, const Merge& b) const {
      if (a.rank != b.rank) return a.rank > b.rank;
      return a.pos > b.pos;
    }
  };

  void build() {
    const std::string& src = spec_.source;
    int64_t max_id = -1;
    std::unordered_map<int64_t, const std::string*> token_of_id;  // two tokens on one id: refused
    for (const auto& [token, id] : spec_.vocab) {
      // The decoding tables hold one entry per id up to the highest, so the bound keeps them
      // small; the largest real vocabularies have about 262,000 tokens.
      if (id < 0 || id >= kMaxTokenId)
        throw Error(src + ": vocabulary id " + std::to_string(id) + " of token '" + token + "' is out of range (0.." +
                    std::to_string(kMaxTokenId - 1) + ")");
      if (const auto [it, fresh] = token_of_id.emplace(id, &token); !fresh)
        throw Error(src + ": vocabulary id " + std::to_string(id) + " is given to two tokens, '" + *it->second + "' and '" +
                    token + "'");
      vocab_.emplace(token, static_cast<std::uint32_t>(id));  // first entry of a duplicate token wins
      max_id = std::max(max_id, id);
    }
    for (std::size_t rank = 0; rank < spec_.merges.size(); ++rank) {
      const auto& [a, b] = spec_.merges[rank];
      auto ia = vocab_.find(a), ib = vocab_.find(b), iab = vocab_.find(a + b);
      if (ia == vocab_.end() || ib == vocab_.end() || iab == vocab_.end())
        throw Error(src + ": merge " + std::to_string(rank + 1) + " ('" + a + "' '" + b +
                    "') uses a token that is not in the vocabulary");
      merges_[(std::uint64_t{ia->second} << 32) | ib->second] = {static_cast<std::uint32_t>(rank), iab->second};
    }
    for (int b = 0; b < 256; ++b) {
      std::string ch;
      unicode::append_utf8(ch, byte_to_char()[b]);
      auto it = vocab_.find(ch);
      byte_id_[b] = it == vocab_.end() ? -1 : static_cast<int64_t>(it->second);
      if (spec_.byte_fallback) {
        // The "<0xXX>" tokens of each UTF-8 byte of the mapped character, all or none.
        std::vector<std::uint32_t> fallback;
        for (unsigned char x : ch) {
          static const char* hex = "0123456789ABCDEF";
          std::string name = std::string("<0x") + hex[x >> 4] + hex[x & 15] + ">";
          auto f = vocab_.find(name);
          if (f == vocab_.end()) {
            fallback.clear();
            break;
          }
          fallback.push_back(f->second);
        }
        byte_fallback_[b] = std::move(fallback);
      }
    }
    if (spec_.unk_token) {
      auto it = vocab_.find(*spec_.unk_token);
      if (it != vocab_.end()) unk_id_ = it->second;
    }

    // Added tokens: the id of a content already in the vocabulary is kept; new contents get
    // ids from the model vocabulary's size on (HF's AddedVocabulary::add_tokens).
    const int64_t model_size = static_cast<int64_t>(vocab_.size());
    int64_t next_id = model_size;
    std::unordered_map<std::string, std::size_t> by_content;
    for (const AddedTokenSpec& t : spec_.added_tokens) {
      if (t.content.empty()) continue;
      unicode::validate_utf8(t.content, src + " added token");
      int64_t id;
      if (auto it = by_content.find(t.content); it != by_content.end()) {
        added_[it->second].spec = t;  // same content again: new flags, same id
        continue;
      } else if (auto v = vocab_.find(t.content); v != vocab_.end()) {
        id = v->second;
      } else {
        id = next_id++;
      }
      by_content.emplace(t.content, added_.size());
      added_.push_back({t, id});
    }
    // HF keeps one token per id (a later one replaces an earlier one with the same id).
    std::unordered_map<int64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < added_.size(); ++i) by_id[added_[i].id] = i;
    std::vector<AddedEntry> kept;
    for (std::size_t i = 0; i < added_.size(); ++i)
      if (by_id[added_[i].id] == i) kept.push_back(added_[i]);
    added_ = std::move(kept);
    std::sort(added_.begin(), added_.end(), [](const AddedEntry& a, const AddedEntry& b) { return a.id < b.id; });

    for (std::size_t i = 0; i < added_.size(); ++i) {
      const AddedEntry& e = added_[i];
      max_id = std::max(max_id, e.id);
      if (e.spec.normalized) {
        std::string pattern = spec_.nfc ? unicode::nfc(e.spec.content) : e.spec.content;
        normalized_trie_.insert(pattern, i);
        added_decode_form_.emplace(e.id, pattern);
      } else {
        raw_trie_.insert(e.spec.content, i);
        added_decode_form_.emplace(e.id, e.spec.content);
      }
    }
    vocab_size_ = max_id + 1;

    // Decoding tables.
    token_.assign(static_cast<std::size_t>(vocab_size_), {});
    has_token_.assign(static_cast<std::size_t>(vocab_size_), false);
    for (const auto& [token, id] : vocab_) {
      token_[id] = token;
      has_token_[id] = true;
    }
    for (const auto& [id, form] : added_decode_form_) {
      token_[static_cast<std::size_t>(id)] = form;
      has_token_[static_cast<std::size_t>(id)] = true;
    }
    if (spec_.byte_level_decoder) {
      decoded_.resize(token_.size());
      for (std::size_t i = 0; i < token_.size(); ++i)
        if (has_token_[i]) decoded_[i] = byte_level_decode_token(token_[i]);
    }

    // BOS/EOS by the usual names of special tokens.
    auto special_id = [&](const std::string& content) -> std::optional<int64_t> {
      for (const AddedEntry& e : added_)
        if (e.spec.content == content && e.spec.special) return e.id;
      return std::nullopt;
    };
    if (auto id = special_id("<|endoftext|>")) {
      bos_ = eos_ = id;
    } else {
      bos_ = special_id("<s>");
      eos_ = special_id("</s>");
    }
  }

  // HF's AddedVocabulary::find_matches: split `s` around the added tokens found by `trie`.
  std::vector<Split> find_added(std::string s, const PatternTrie& trie) const {
    std::vector<Split> out;
    if (trie.empty()) {
      if (!s.empty()) out.push_back({std::move(s), -1});
      return out;
    }
    std::size_t start_offset = 0, search = 0;
    while (auto m = trie.find(s, search)) {
      search = m->end;
      std::size_t start = m->start, stop = m->end;
      const AddedEntry& tok = added_[m->value];
      if (tok.spec.single_word) {
        const bool start_space = start == 0 || !unicode::is_word(unicode::previous_code_point(s, start));
        std::size_t p = stop;
        const bool stop_space = stop == s.size() || !unicode::is_word(unicode::next_code_point(s, p));
        if (!start_space || !stop_space) continue;
      }
      if (tok.spec.lstrip) {
        std::size_t newstart = start;
        while (newstart > 0) {
          std::size_t prev_start;
          if (!unicode::is_white_space(unicode::previous_code_point(s, newstart, &prev_start))) break;
          newstart = prev_start;
        }
        start = std::max(newstart, start_offset);
      }
      if (tok.spec.rstrip) {
        std::size_t p = stop;
        while (p < s.size()) {
          std::size_t q = p;
          if (!unicode::is_white_space(unicode::next_code_point(s, q))) break;
          p = q;
        }
        stop = p;
      }
      if (start_offset < start) out.push_back({s.substr(start_offset, start - start_offset), -1});
      out.push_back({s.substr(start, stop - start), tok.id});
      start_offset = stop;
    }
    if (start_offset < s.size()) out.push_back({s.substr(start_offset), -1});
    return out;
  }

  // The pre-tokenizer and the BPE model on one piece without added tokens.
  void pre_tokenize_and_merge(const std::string& piece, std::vector<int64_t>& ids) const {
    for_each_pre_token(piece, spec_.pre, spec_.use_regex, spec_.add_prefix_space,
                       [&](std::string_view word) { merge_word(word, ids); });
  }

  // Calls f on each word that the pre-tokenizer `pre` makes of s, in order (raw bytes, before
  // the byte-level mapping). HF's ByteLevel step runs on each piece the step before it made: the
  // prefix space goes in front of each of them.
  template <class F>
  static void for_each_pre_token(std::string_view s, PreTokenizer pre, bool use_regex, bool add_prefix_space,
                                 const F& f) {
    auto byte_level = [&](std::string_view piece, bool regex) {
      std::string prefixed;
      if (add_prefix_space && (piece.empty() || piece[0] != ' ')) {
        prefixed.reserve(piece.size() + 1);
        prefixed += ' ';
        prefixed += piece;
        piece = prefixed;
      }
      if (regex) {
        for_each_regex_piece(piece, f);
      } else {
        f(piece);
      }
    };
    switch (pre) {
      case PreTokenizer::gpt2:
        byte_level(s, use_regex);
        return;
      case PreTokenizer::digits_gpt2:
        for_each_digit_split(s, [&](std::string_view piece) { byte_level(piece, true); });
        return;
      case PreTokenizer::llama3:
      case PreTokenizer::qwen2:
        for_each_split_piece(s, pre == PreTokenizer::llama3 ? 3 : 1,
                             [&](std::string_view piece) { byte_level(piece, false); });
        return;
    }
  }

  // Code points of a piece, their regex classes and byte offsets (off has one more entry: the end).
  struct CodePoints {
    std::vector<char32_t> cps;
    std::vector<RegexClass> cls;
    std::vector<std::uint32_t> off;

    explicit CodePoints(std::string_view s) {
      cps.reserve(s.size());
      cls.reserve(s.size());
      off.reserve(s.size() + 1);
      for (std::size_t pos = 0; pos < s.size();) {
        off.push_back(static_cast<std::uint32_t>(pos));
        const char32_t cp = unicode::next_code_point(s, pos);
        cps.push_back(cp);
        cls.push_back(unicode::regex_class(cp));
      }
      off.push_back(static_cast<std::uint32_t>(s.size()));
    }
    std::size_t size() const { return cps.size(); }
    // The end of the run of class c that starts at i.
    std::size_t run_end(std::size_t i, RegexClass c) const {
      while (i < cps.size() && cls[i] == c) ++i;
      return i;
    }
  };

  // Calls f on each piece of the GPT-2 pre-tokenizer regex in s, in order.
  template <class F>
  static void for_each_regex_piece(std::string_view s, const F& f) {
    const CodePoints t(s);
    for (std::size_t i = 0; i < t.size();) {
      const std::size_t j = match_at(t, i);
      f(s.substr(t.off[i], t.off[j] - t.off[i]));
      i = j;
    }
  }

  // End of the GPT-2 regex match at i:
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  static std::size_t match_at(const CodePoints& t, std::size_t i) {
    const std::vector<char32_t>& cps = t.cps;
    const std::vector<RegexClass>& cls = t.cls;
    const std::size_t n = cps.size();
    const char32_t c = cps[i];
    if (c == U'\'' && i + 1 < n) {
      const char32_t c1 = cps[i + 1];
      if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') return i + 2;
      if (i + 2 < n) {
        const char32_t c2 = cps[i + 2];
        if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l'))
          return i + 3;
      }
    }
    for (RegexClass k : {RegexClass::kLetter, RegexClass::kNumber, RegexClass::kOther}) {
      if (cls[i] == k) return t.run_end(i, k);
      if (c == U' ' && i + 1 < n && cls[i + 1] == k) return t.run_end(i + 1, k);
    }
    // cls[i] is kSpace: \s+(?!\S) leaves the last space of a run to the word after it.
    const std::size_t j = t.run_end(i, RegexClass::kSpace);
    if (j == n) return j;
    if (j - i >= 2) return j - 1;
    return j;
  }

  // HF's Digits(individual_digits=true): each numeric code point is a piece, and so is each run
  // of other code points between them.
  template <class F>
  static void for_each_digit_split(std::string_view s, const F& f) {
    std::size_t start = 0;
    for (std::size_t pos = 0; pos < s.size();) {
      const std::size_t at = pos;
      if (!unicode::is_numeric(unicode::next_code_point(s, pos))) continue;
      if (at > start) f(s.substr(start, at - start));
      f(s.substr(at, pos - at));
      start = pos;
    }
    if (start < s.size()) f(s.substr(start));
  }

  // Calls f on each match of the Llama 3 split regex (max_digits 3) or Qwen2's (max_digits 1)
  // in s, in order. Every code point starts some match (a letter, a number, white space or one
  // of the others), so the matches tile s and Isolated leaves nothing between them.
  template <class F>
  static void for_each_split_piece(std::string_view s, std::size_t max_digits, const F& f) {
    const CodePoints t(s);
    for (std::size_t i = 0; i < t.size();) {
      const std::size_t j = split_match_at(t, i, max_digits);
      f(s.substr(t.off[i], t.off[j] - t.off[i]));
      i = j;
    }
  }

  // End of the match at i of (Oniguruma, leftmost alternative first)
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
  //  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  static std::size_t split_match_at(const CodePoints& t, std::size_t i, std::size_t max_digits) {
    const std::vector<char32_t>& cps = t.cps;
    const std::vector<RegexClass>& cls = t.cls;
    const std::size_t n = cps.size();
    const char32_t c = cps[i];
    auto newline = [&](std::size_t k) { return cps[k] == U'\r' || cps[k] == U'\n'; };
    // Contractions, ignoring case. Oniguruma folds case by Unicode's CaseFolding, where besides
    // ASCII only U+017F (long s) folds to one of these letters (checked over every code point).
    if (c == U'\'' && i + 1 < n) {
      auto fold = [](char32_t x) -> char32_t {
        if (x >= U'A' && x <= U'Z') return x + (U'a' - U'A');
        return x == 0x17F ? U's' : x;
      };
      const char32_t c1 = fold(cps[i + 1]);
      if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') return i + 2;
      if (i + 2 < n) {
        const char32_t c2 = fold(cps[i + 2]);
        if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l'))
          return i + 3;
      }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+ : letters, with at most one code point before them that is neither
    // a letter, a number, \r nor \n (white space included: "\tword" and " word" are one piece).
    if (cls[i] == RegexClass::kLetter) return t.run_end(i, RegexClass::kLetter);
    if (cls[i] != RegexClass::kNumber && !newline(i) && i + 1 < n && cls[i + 1] == RegexClass::kLetter)
      return t.run_end(i + 1, RegexClass::kLetter);
    // \p{N}{1,max_digits}
    if (cls[i] == RegexClass::kNumber) return std::min(i + max_digits, t.run_end(i, RegexClass::kNumber));
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    std::size_t k = i;
    if (c == U' ' && i + 1 < n && cls[i + 1] == RegexClass::kOther) k = i + 1;
    if (cls[k] == RegexClass::kOther) {
      std::size_t j = t.run_end(k, RegexClass::kOther);
      while (j < n && newline(j)) ++j;
      return j;
    }
    // cls[i] is kSpace. \s*[\r\n]+ : \s* takes the whole white-space run and gives code points
    // back until [\r\n]+ can match, so the match ends after the run's last \r or \n.
    const std::size_t j = t.run_end(i, RegexClass::kSpace);
    for (std::size_t m = j; m > i; --m)
      if (newline(m - 1)) return m;
    // \s+(?!\S)|\s+ : as in the GPT-2 regex, a run leaves its last space to the word after it.
    if (j == n) return j;
    if (j - i >= 2) return j - 1;
    return j;
  }

  // BPE on one word (raw bytes), appending its ids.
  void merge_word(std::string_view word, std::vector<int64_t>& ids) const {
    if (word.empty()) return;
    if (spec_.ignore_merges) {
      auto it = vocab_.find(to_byte_level(word));
      if (it != vocab_.end()) {
        ids.push_back(it->second);
        return;
      }
    }
    const bool cacheable = word.size() < kMaxCachedWord;
    std::string key;
    if (cacheable) {
      key.assign(word);
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = cache_.find(key);
      if (it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<std::uint32_t> result = merge_bytes(word);
    ids.insert(ids.end(), result.begin(), result.end());
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (cache_.size() < kCacheCapacity) cache_.emplace(std::move(key), std::move(result));
    }
  }

  std::vector<std::uint32_t> merge_bytes(std::string_view word) const {
    // Initial symbols, one per byte (one per character of the byte-level string).
    std::vector<std::uint32_t> initial;
    initial.reserve(word.size());
    int64_t pending_unk = -1;  // an unk token not yet added (HF may fuse several)
    for (char ch : word) {
      const auto b = static_cast<unsigned char>(ch);
      if (byte_id_[b] >= 0) {
        if (pending_unk >= 0) {
          initial.push_back(static_cast<std::uint32_t>(pending_unk));
          pending_unk = -1;
        }
        initial.push_back(static_cast<std::uint32_t>(byte_id_[b]));
        continue;
      }
      if (spec_.byte_fallback && !byte_fallback_[b].empty()) {
        initial.insert(initial.end(), byte_fallback_[b].begin(), byte_fallback_[b].end());
        continue;
      }
      if (spec_.unk_token) {
        if (!unk_id_)
          throw Error(spec_.source + ": unk_token '" + *spec_.unk_token + "' is not in the vocabulary");
        if (pending_unk >= 0 && !spec_.fuse_unk) initial.push_back(static_cast<std::uint32_t>(pending_unk));
        pending_unk = *unk_id_;
      }
      // Without an unk token, HF drops a character that is not in the vocabulary.
    }
    if (pending_unk >= 0) initial.push_back(static_cast<std::uint32_t>(pending_unk));

    const std::size_t n = initial.size();
    std::vector<Symbol> sym(n);
    for (std::size_t i = 0; i < n; ++i)
      sym[i] = {initial[i], static_cast<std::int32_t>(i) - 1,
                i + 1 < n ? static_cast<std::int32_t>(i + 1) : -1, true};
    std::priority_queue<Merge, std::vector<Merge>, MergeLater> queue;
    auto lookup = [&](std::uint32_t a, std::uint32_t b) -> const std::pair<std::uint32_t, std::uint32_t>* {
      auto it = merges_.find((std::uint64_t{a} << 32) | b);
      return it == merges_.end() ? nullptr : &it->second;
    };
    for (std::size_t i = 0; i + 1 < n; ++i)
      if (auto m = lookup(sym[i].c, sym[i + 1].c))
        queue.push({m->first, static_cast<std::uint32_t>(i), m->second});
    while (!queue.empty()) {
      const Merge top = queue.top();
      queue.pop();
      Symbol& left = sym[top.pos];
      if (!left.alive || left.next < 0) continue;
      Symbol& right = sym[static_cast<std::size_t>(left.next)];
      auto m = lookup(left.c, right.c);
      if (!m || m->second != top.new_id) continue;  // stale entry
      left.c = top.new_id;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) sym[static_cast<std::size_t>(left.next)].prev = static_cast<std::int32_t>(top.pos);
      if (left.prev >= 0)
        if (auto pm = lookup(sym[static_cast<std::size_t>(left.prev)].c, left.c))
          queue.push({pm->first, static_cast<std::uint32_t>(left.prev), pm->second});
      if (left.next >= 0)
        if (auto nm = lookup(left.c, sym[static_cast<std::size_t>(left.next)].c))
          queue.push({nm->first, top.pos, nm->second});
    }
    std::vector<std::uint32_t> out;
    for (const Symbol& s : sym)
      if (s.alive) out.push_back(s.c);
    return out;
  }

  static constexpr std::size_t kMaxCachedWord = 256;
  static constexpr std::size_t kCacheCapacity = 1 << 16;

  BpeSpec spec_;
  std::unordered_map<std::string, std::uint32_t> vocab_;
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>> merges_;  // -> (rank, new id)
  std::array<int64_t, 256> byte_id_{};
  std::array<std::vector<std::uint32_t>, 256> byte_fallback_{};
  std::optional<std::uint32_t> unk_id_;
  std::vector<AddedEntry> added_;
  std::unordered_map<int64_t, std::string> added_decode_form_;
  PatternTrie raw_trie_, normalized_trie_;
  int64_t vocab_size_ = 0;
  std::vector<std::string> token_;
  std::vector<bool> has_token_;
  std::vector<std::string> decoded_;
  std::optional<int64_t> bos_, eos_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::uint32_t>> cache_;
};

// ---- readers -------------------------------------------------------------------------------

// Tokenizer files are a few MB (the largest real tokenizer.json, ~260k tokens, is ~35 MB).
constexpr std::uintmax_t kMaxTokenizerBytes = std::uintmax_t{512} << 20;

std::string read_file(const std::filesystem::path& path) {
  return read_file_bounded(path, kMaxTokenizerBytes, "tokenizer");
}

nlohmann::json parse_json(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed JSON: " + e.what());
  }
}

std::string json_type_of(const nlohmann::json& j) {
  if (j.is_null()) return "null";
  if (j.is_object() && j.contains("type") && j["type"].is_string()) return j["type"].get<std::string>();
  return j.dump().substr(0, 60);
}

void read_vocab_object(const nlohmann::json& j, const std::string& src, BpeSpec& spec) {
  if (!j.is_object()) throw Error(src + ": the vocabulary must be a JSON object of token -> id");
  spec.vocab.reserve(j.size());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer())
      throw Error(src + ": vocabulary entry '" + it.key() + "' has a non-integer id");
    spec.vocab.emplace_back(it.key(), it.value().get<int64_t>());
  }
}

std::pair<std::string, std::string> split_merge_line(const std::string& line, std::size_t number,
                                                     const std::string& src) {
  const std::size_t sp = line.find(' ');
  if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
    throw Error(src + ": merge " + std::to_string(number) + " ('" + line +
                "') is not two tokens separated by one space");
  return {line.substr(0, sp), line.substr(sp + 1)};
}

bool flag(const nlohmann::json& obj, const char* key, bool fallback, const std::string& src) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) throw Error(src + ": '" + key + "' must be true or false");
  return obj[key].get<bool>();
}

void read_byte_level(const nlohmann::json& pt, const std::string& src, BpeSpec& spec) {
  spec.add_prefix_space = flag(pt, "add_prefix_space", true, src);
  spec.use_regex = flag(pt, "use_regex", true, src);
}

// The Split patterns of Llama 3's and Qwen2's tokenizer.json, which differ only in \p{N}{1,3}.
const char* const kLlama3SplitRegex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2SplitRegex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// A pre-tokenizer as "Type" or "Sequence[A, B]", for error messages.
std::string describe_pre_tokenizer(const nlohmann::json& pre) {
  if (json_type_of(pre) != "Sequence" || !pre.contains("pretokenizers") || !pre["pretokenizers"].is_array())
    return json_type_of(pre);
  std::string out = "Sequence[";
  for (std::size_t i = 0; i < pre["pretokenizers"].size(); ++i)
    out += (i ? ", " : "") + json_type_of(pre["pretokenizers"][i]);
  return out + "]";
}

// Sets spec.pre (and the ByteLevel flags) from a tokenizer.json "pre_tokenizer".
void read_pre_tokenizer(const nlohmann::json& pre, const std::string& src, BpeSpec& spec) {
  const std::string supported =
      " (supported: ByteLevel; Sequence[Digits(individual_digits=true), ByteLevel(use_regex=true)]; "
      "Sequence[Split(Regex(<the Llama 3 or Qwen2 pattern>), Isolated), ByteLevel(use_regex=false)])";
  std::vector<const nlohmann::json*> steps;
  if (json_type_of(pre) == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const auto& p : pre["pretokenizers"]) steps.push_back(&p);
  } else if (pre.is_object()) {
    steps.push_back(&pre);
  }
  if (steps.empty() || steps.size() > 2 || json_type_of(*steps.back()) != "ByteLevel")
    throw Error(src + ": unsupported pre_tokenizer type '" + describe_pre_tokenizer(pre) + "'" + supported);
  const nlohmann::json& byte_level = *steps.back();
  read_byte_level(byte_level, src, spec);
  if (steps.size() == 1) {
    spec.pre = PreTokenizer::gpt2;
    return;
  }
  const nlohmann::json& first = *steps[0];
  const std::string type = json_type_of(first);
  if (type == "Digits") {
    if (!flag(first, "individual_digits", false, src))
      throw Error(src + ": pre_tokenizer Digits with individual_digits=false is not supported" + supported);
    if (!spec.use_regex)
      throw Error(src + ": pre_tokenizer Digits must be followed by ByteLevel(use_regex=true)" + supported);
    spec.pre = PreTokenizer::digits_gpt2;
    return;
  }
  if (type == "Split") {
    const nlohmann::json pattern = first.value("pattern", nlohmann::json());
    if (!pattern.is_object() || !pattern.contains("Regex") || !pattern["Regex"].is_string())
      throw Error(src + ": pre_tokenizer Split: only a \"Regex\" pattern is supported" + supported);
    const std::string regex = pattern["Regex"].get<std::string>();
    if (regex == kLlama3SplitRegex) {
      spec.pre = PreTokenizer::llama3;
    } else if (regex == kQwen2SplitRegex) {
      spec.pre = PreTokenizer::qwen2;
    } else {
      throw Error(src + ": pre_tokenizer Split: unsupported pattern '" + regex.substr(0, 80) + "'" + supported);
    }
    const nlohmann::json behavior = first.value("behavior", nlohmann::json());
    if (!(behavior.is_string() && behavior == "Isolated"))
      throw Error(src + ": pre_tokenizer Split: behavior " + behavior.dump() + " is not supported (only \"Isolated\")");
    if (flag(first, "invert", false, src))
      throw Error(src + ": pre_tokenizer Split: invert=true is not supported");
    if (spec.use_regex)
      throw Error(src + ": pre_tokenizer Split must be followed by ByteLevel(use_regex=false)" + supported);
    return;
  }
  throw Error(src + ": unsupported pre_tokenizer type '" + describe_pre_tokenizer(pre) + "'" + supported);
}

}  // namespace

BpeSpec read_tokenizer_json(const std::filesystem::path& path) {
  const std::string src = path.string();
  const nlohmann::json j = parse_json(path);
  if (!j.is_object()) throw Error(src + ": a tokenizer.json must be a JSON object");
  BpeSpec spec;
  spec.source = src;
  if (j.contains("version") && !(j["version"].is_string() && j["version"] == "1.0"))
    throw Error(src + ": unknown tokenizer.json version " + j["version"].dump());

  // Model.
  if (!j.contains("model") || !j["model"].is_object()) throw Error(src + ": no \"model\" object");
  const nlohmann::json& model = j["model"];
  const std::string model_type = model.contains("type") ? json_type_of(model) : "BPE";
  if (model_type != "BPE")
    throw Error(src + ": unsupported model type '" + model_type + "' (supported: BPE)");
  if (!model.contains("vocab") || !model.contains("merges"))
    throw Error(src + ": the BPE model needs \"vocab\" and \"merges\"");
  read_vocab_object(model["vocab"], src, spec);
  const nlohmann::json& merges = model["merges"];
  if (!merges.is_array()) throw Error(src + ": \"merges\" must be an array");
  spec.merges.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const nlohmann::json& m = merges[i];
    if (m.is_string()) {
      spec.merges.push_back(split_merge_line(m.get<std::string>(), i + 1, src));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      throw Error(src + ": merge " + std::to_string(i + 1) + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    if (!model["dropout"].is_number()) throw Error(src + ": \"dropout\" must be a number");
    const double p = model["dropout"].get<double>();
    if (p != 0.0) throw Error(src + ": BPE dropout " + std::to_string(p) + " is not supported (it is random)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null())
      throw Error(src + ": BPE option \"" + std::string(key) + "\" is not supported");
  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    if (!model["unk_token"].is_string()) throw Error(src + ": \"unk_token\" must be a string");
    spec.unk_token = model["unk_token"].get<std::string>();
  }
  spec.fuse_unk = flag(model, "fuse_unk", false, src);
  spec.byte_fallback = flag(model, "byte_fallback", false, src);
  spec.ignore_merges = flag(model, "ignore_merges", false, src);

  // Normalizer: none, NFC, or a Sequence of NFC.
  const nlohmann::json normalizer = j.value("normalizer", nlohmann::json());
  std::vector<const nlohmann::json*> norms;
  if (!normalizer.is_null()) {
    if (json_type_of(normalizer) == "Sequence") {
      if (!normalizer.contains("normalizers") || !normalizer["normalizers"].is_array())
        throw Error(src + ": normalizer Sequence without \"normalizers\"");
      for (const auto& n : normalizer["normalizers"]) norms.push_back(&n);
    } else {
      norms.push_back(&normalizer);
    }
  }
  for (const nlohmann::json* n : norms) {
    const std::string t = json_type_of(*n);
    if (t != "NFC") throw Error(src + ": unsupported normalizer type '" + t + "' (supported: NFC)");
    spec.nfc = true;
  }

  // Pre-tokenizer: one of the pipelines of PreTokenizer.
  read_pre_tokenizer(j.value("pre_tokenizer", nlohmann::json()), src, spec);
  if (spec.pre == PreTokenizer::qwen2 && !spec.nfc)
    throw Error(src + ": the Qwen2 split pattern without the NFC normalizer is not supported (Qwen2's "
                      "tokenizer.json has both)");

  // Decoder: ByteLevel or none.
  const nlohmann::json decoder = j.value("decoder", nlohmann::json());
  if (decoder.is_null()) {
    spec.byte_level_decoder = false;
  } else if (json_type_of(decoder) != "ByteLevel") {
    throw Error(src + ": unsupported decoder type '" + json_type_of(decoder) + "' (supported: ByteLevel)");
  }

  // Added tokens.
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) throw Error(src + ": \"added_tokens\" must be an array");
    for (const auto& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("content") || !t["content"].is_string())
        throw Error(src + ": an added token without a string \"content\"");
      AddedTokenSpec a;
      a.content = t["content"].get<std::string>();
      a.special = flag(t, "special", false, src);
      a.single_word = flag(t, "single_word", false, src);
      a.lstrip = flag(t, "lstrip", false, src);
      a.rstrip = flag(t, "rstrip", false, src);
      a.normalized = flag(t, "normalized", !a.special, src);
      spec.added_tokens.push_back(std::move(a));
    }
  }
  return spec;
}

BpeSpec read_vocab_and_merges(const std::filesystem::path& vocab_path,
                              const std::filesystem::path& merges_path) {
  BpeSpec spec;
  spec.source = vocab_path.string();
  read_vocab_object(parse_json(vocab_path), vocab_path.string(), spec);
  const std::string text = read_file(merges_path);
  std::size_t pos = 0, number = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#version", 0) == 0) continue;
    spec.merges.push_back(split_merge_line(line, ++number, merges_path.string()));
  }
  spec.add_prefix_space = false;
  for (const auto& [token, id] : spec.vocab) {
    if (token == "<|endoftext|>") {
      AddedTokenSpec eot;
      eot.content = token;
      eot.special = true;
      eot.normalized = false;
      spec.added_tokens.push_back(eot);
      break;
    }
  }
  return spec;
}

std::unique_ptr<Tokenizer> make_byte_level_bpe(BpeSpec spec) {
  return std::make_unique<ByteLevelBpe>(std::move(spec));
}

std::vector<std::string> byte_level_pretokenize(std::string_view text, PreTokenizer pre) {
  unicode::validate_utf8(text);
  std::vector<std::string> pieces;
  ByteLevelBpe::for_each_pre_token(text, pre, true, false,
                                   [&](std::string_view piece) { pieces.push_back(to_byte_level(piece)); });
  return pieces;
}

const char* pre_tokenizer_name(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::gpt2:
      return "gpt2";
    case PreTokenizer::digits_gpt2:
      return "digits_gpt2";
    case PreTokenizer::llama3:
      return "llama3";
    case PreTokenizer::qwen2:
      return "qwen2";
  }
  return "?";
}

std::string byte_level_symbol(unsigned char b) {
  std::string out;
  unicode::append_utf8(out, byte_to_char()[b]);
  return out;
}

}  // namespace eidetic::tok
