// tokenizers/llama2c.cpp: the llama2.c tokenizer (see llama2c.h), equal to run.c's encode()
// and to what run.c prints for generated tokens, and the SentencePiece tokenizer of GGUF files,
// equal to what transformers builds from them (both merge pairs of symbols with one heap).
//
// Encoding: a dummy-prefix " " token when the text is not empty; each UTF-8 code point looked
// up as a piece, else byte fallback to id byte + 3; then, repeatedly, the adjacent pair whose
// concatenation is a piece with the highest score is merged (the leftmost on ties; scores must
// exceed -1e10 as in run.c). run.c rescans the whole sequence per merge; a heap of candidate
// pairs keyed by (score, position) gives the same sequence of merges in O(n log n).
// Pieces are C strings in run.c, so a piece is cut at its first NUL byte here too.
#include "tokenizers/llama2c.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <fstream>
#include <queue>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "common/read_file.h"
#include "tokenizers/unicode.h"

namespace eidetic::tok {
namespace {

constexpr int64_t kBos = 1;
constexpr int64_t kEos = 2;
constexpr int64_t kByteOffset = 3;  // pieces 3..258 are <0x00>..<0xFF>
constexpr float kMinScore = -1e10f;

struct Candidate {
  double priority;
  int32_t pos, right;  // symbol indices
  int32_t left_id, right_id, merged_id;
};
struct Worse {  // the heap's top is the highest priority, then the lowest position
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.pos > b.pos;
  }
};

// Merges adjacent symbols of `ids` while some pair merges: the pair of highest priority first,
// the leftmost on ties. `rule(left_id, right_id, &priority, &merged_id)` says whether a pair
// merges, with what priority, into which id. run.c rescans the whole sequence per merge (and HF
// `tokenizers` keeps a heap of (rank, position) as here); a heap of candidate pairs gives the
// same sequence of merges in O(n log n).
template <class Rule>
void merge_pairs(std::vector<int32_t>& ids, const Rule& rule) {
  const int32_t n = static_cast<int32_t>(ids.size());
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, Worse> heap;
  auto consider = [&](int32_t left, int32_t right) {
    double priority;
    int32_t merged;
    if (rule(ids[left], ids[right], &priority, &merged)) heap.push({priority, left, right, ids[left], ids[right], merged});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (!alive[c.pos] || !alive[c.right] || next[c.pos] != c.right || ids[c.pos] != c.left_id ||
        ids[c.right] != c.right_id)
      continue;  // stale
    ids[c.pos] = c.merged_id;
    alive[c.right] = false;
    next[c.pos] = next[c.right];
    if (next[c.pos] >= 0) prev[next[c.pos]] = c.pos;
    if (prev[c.pos] >= 0) consider(prev[c.pos], c.pos);
    if (next[c.pos] >= 0) consider(c.pos, next[c.pos]);
  }
  std::size_t w = 0;
  for (int32_t i = 0; i < n; ++i)
    if (alive[i]) ids[w++] = ids[i];
  ids.resize(w);
}

class Llama2cTokenizer final : public Tokenizer {
 public:
  Llama2cTokenizer(std::string source, std::vector<std::string> pieces, std::vector<float> scores)
      : source_(std::move(source)), pieces_(std::move(pieces)), scores_(std::move(scores)) {
    for (std::size_t i = 0; i < pieces_.size(); ++i)
      lookup_.emplace(pieces_[i], static_cast<int32_t>(i));  // lowest id wins on duplicates
  }

  std::vector<int64_t> encode(std::string_view text) const override {
    unicode::validate_utf8(text);
    std::vector<int64_t> out;
    if (text.empty()) return out;
    if (text.size() >= static_cast<std::size_t>(INT32_MAX / 2))
      throw Error(source_ + ": cannot encode " + std::to_string(text.size()) + " bytes at once (limit 1 GiB)");
    auto space = lookup_.find(" ");
    if (space == lookup_.end())
      throw Error(source_ + ": cannot encode: the vocabulary has no \" \" piece for the dummy prefix");

    std::vector<int32_t> ids;
    ids.reserve(text.size() + 1);
    ids.push_back(space->second);
    for (std::size_t pos = 0; pos < text.size();) {
      const std::size_t start = pos;
      const char32_t cp = unicode::next_code_point(text, pos);
      const std::string_view bytes = text.substr(start, pos - start);
      if (cp != 0) {
        auto it = lookup_.find(std::string(bytes));
        if (it != lookup_.end()) {
          ids.push_back(it->second);
          continue;
        }
      }
      for (char b : bytes) {
        const int64_t id = static_cast<unsigned char>(b) + kByteOffset;
        if (id >= vocab_size())
          throw Error(source_ + ": cannot encode byte " + std::to_string(static_cast<unsigned char>(b)) +
                      ": byte-fallback id " + std::to_string(id) + " is past the vocabulary (size " +
                      std::to_string(vocab_size()) + ")");
        ids.push_back(static_cast<int32_t>(id));
      }
    }
    merge(ids);
    out.assign(ids.begin(), ids.end());
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string out;
    int64_t prev = -1;
    for (int64_t id : ids) {
      if (id < 0 || id >= vocab_size())
        throw Error(source_ + ": cannot decode id " + std::to_string(id) + ": not in the vocabulary (size " +
                    std::to_string(vocab_size()) + ")");
      const int64_t before = prev;
      prev = id;
      if (id == kBos || id == kEos) continue;
      std::string_view piece = pieces_[static_cast<std::size_t>(id)];
      // After BOS, the leading space of a piece is dropped (sentencepiece's rule).
      if (before == kBos && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
      // "<0xXX>" pieces stand for the raw byte.
      char byte;
      if (parse_byte_piece(piece, &byte)) piece = std::string_view(&byte, 1);
      // run.c's safe_printf: nothing for an empty piece or a lone byte that is neither
      // printable nor white space (in the C locale); a NUL byte ends a C string.
      if (piece.empty() || piece[0] == '\0') continue;
      if (piece.size() == 1) {
        const auto b = static_cast<unsigned char>(piece[0]);
        const bool printable = b >= 0x20 && b <= 0x7E;
        const bool space = b == ' ' || (b >= 0x09 && b <= 0x0D);
        if (!printable && !space) continue;
      }
      out.append(piece);
    }
    return out;
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  std::optional<int64_t> bos_id() const override { return kBos; }
  std::optional<int64_t> eos_id() const override { return kEos; }
  std::string kind() const override { return "llama2c"; }

 private:
  // run.c reads these with sscanf("<0x%02hhX>"): "<0x" and one or two hex digits.
  static bool parse_byte_piece(std::string_view piece, char* byte) {
    if (piece.size() < 4 || piece.substr(0, 3) != "<0x") return false;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int v = hex(piece[3]);
    if (v < 0) return false;
    if (piece.size() > 4 && hex(piece[4]) >= 0) v = v * 16 + hex(piece[4]);
    *byte = static_cast<char>(v);
    return true;
  }

  void merge(std::vector<int32_t>& ids) const {
    std::string buffer;
    merge_pairs(ids, [&](int32_t left_id, int32_t right_id, double* priority, int32_t* merged) {
      buffer.assign(pieces_[left_id]);
      buffer.append(pieces_[right_id]);
      auto it = lookup_.find(buffer);
      if (it == lookup_.end()) return false;
      const float score = scores_[it->second];
      if (!(score > kMinScore)) return false;  // also drops NaN, as run.c's comparison does
      *priority = score;
      *merged = it->second;
      return true;
    });
  }

  std::string source_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> lookup_;
};


// ---- SentencePiece vocabularies of GGUF files ----------------------------------------------------
//
// transformers 5 (integrations/ggml.py GGUFLlamaConverter over GGUFTokenizerSkeleton) builds:
// - model BPE(vocab = pieces by id, merges, unk_token = the unknown piece, fuse_unk, byte_fallback)
//   with merges made up from the scores: for each piece in id order, every split into two pieces
//   at a code point boundary, those of one piece ordered by (score of left, score of right)
//   descending; then all of them stably sorted by the merged piece's score, descending. The rank
//   of a pair is its place in that list; the word's pairs merge lowest rank first, leftmost on
//   ties. Initial symbols are code points; one missing from the vocabulary becomes its byte
//   pieces "<0xXX>" when all exist, else the unknown token, consecutive ones fused into one.
// - normalizer Sequence[Prepend("▁") (when add_space_prefix, default true), Replace(" ", "▁")],
//   no pre-tokenizer: each stretch of text between special tokens is one word.
// - special added tokens (normalized=false, split out of the raw text first, leftmost-longest):
//   every CONTROL piece (type 3), the unknown piece and the BOS piece (the converter passes the
//   BOS piece as both its bos and eos token; the EOS piece is special only as a CONTROL piece).
// - decoder Sequence[ByteFallback, Fuse, Replace("▁", " "), Strip(" ", 1, 0) when
//   add_space_prefix]: runs of "<0xXX>" pieces become their bytes when those are valid UTF-8,
//   else one U+FFFD per byte; special pieces are decoded as their text.
//
// llama.cpp (llama-vocab.cpp, llm_tokenizer_spm, the algorithm of run.c) differs, and this follows
// transformers:
// - it merges the adjacent pair whose concatenation is the piece of highest score, leftmost on
//   ties. SentencePiece BPE vocabularies (Llama 1/2, Mistral, TinyLlama) score merged pieces
//   distinctly, in the order training merged them, and there both give the same ids (the oracle
//   test checks it on two such vocabularies). With equal scores transformers prefers the lower
//   piece id, then the split with the better-scored left (then right) part, not the leftmost
//   position; scores from a Unigram model can also order merges differently.
// - a symbol left unmerged that is not a piece becomes byte pieces one by one; with a byte piece
//   missing there is no unknown-token fusion.
// - it splits special tokens (CONTROL and USER_DEFINED) out of the text only when asked to parse
//   them, and then adds the space prefix to the first text and to text after a special token;
//   transformers always splits CONTROL, unknown and BOS pieces and prefixes every stretch.
// - its detokenizer drops CONTROL pieces' text (unless asked for it) and passes invalid UTF-8
//   from byte pieces through instead of U+FFFD.
constexpr int kTypeControl = 3;

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(SpmSpec spec) : spec_(std::move(spec)) {
    const std::string& src = spec_.source;
    const std::size_t n = spec_.pieces.size();
    if (n == 0) throw Error(src + ": the SentencePiece vocabulary is empty");
    if (static_cast<int64_t>(n) > kMaxTokenId)
      throw Error(src + ": the SentencePiece vocabulary has " + std::to_string(n) + " pieces, more than the " +
                  std::to_string(kMaxTokenId) + " Eidetic reads");
    if (spec_.scores.size() != n)
      throw Error(src + ": " + std::to_string(spec_.scores.size()) + " scores for " + std::to_string(n) + " pieces");
    if (!spec_.types.empty() && spec_.types.size() != n)
      throw Error(src + ": " + std::to_string(spec_.types.size()) + " token types for " + std::to_string(n) + " pieces");
    for (auto id : {spec_.unk, spec_.bos, spec_.eos})
      if (id && (*id < 0 || *id >= static_cast<int64_t>(n)))
        throw Error(src + ": special id " + std::to_string(*id) + " is outside the vocabulary (size " + std::to_string(n) + ")");

    lookup_.reserve(n);
    std::vector<std::vector<std::size_t>> cuts(n);  // code point boundaries inside each piece
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& piece = spec_.pieces[i];
      if (spec_.scores[i] != spec_.scores[i]) throw Error(src + ": the score of piece " + std::to_string(i) + " is NaN");
      unicode::validate_utf8(piece, src + ": piece " + std::to_string(i));
      if (!lookup_.emplace(piece, static_cast<int32_t>(i)).second)
        throw Error(src + ": the piece '" + piece.substr(0, 40) + "' occurs twice (id " + std::to_string(i) + ")");
      for (std::size_t pos = 0; pos < piece.size();) {
        unicode::next_code_point(piece, pos);
        if (pos < piece.size()) cuts[i].push_back(pos);
      }
    }

    // The merges as transformers makes them up, then their ranks by id pair.
    struct Merge {
      int32_t left, right, merged;
    };
    std::vector<Merge> merges;
    std::vector<Merge> local;
    for (std::size_t i = 0; i < n; ++i) {
      local.clear();
      const std::string& piece = spec_.pieces[i];
      for (std::size_t cut : cuts[i]) {
        auto l = lookup_.find(piece.substr(0, cut));
        if (l == lookup_.end()) continue;
        auto r = lookup_.find(piece.substr(cut));
        if (r == lookup_.end()) continue;
        local.push_back({l->second, r->second, static_cast<int32_t>(i)});
      }
      std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
        const double al = spec_.scores[a.left], bl = spec_.scores[b.left];
        if (al != bl) return al > bl;
        return spec_.scores[a.right] > spec_.scores[b.right];
      });
      merges.insert(merges.end(), local.begin(), local.end());
    }
    std::stable_sort(merges.begin(), merges.end(),
                     [&](const Merge& a, const Merge& b) { return spec_.scores[a.merged] > spec_.scores[b.merged]; });
    ranks_.reserve(merges.size());
    for (std::size_t r = 0; r < merges.size(); ++r)
      ranks_.emplace(pair_key(merges[r].left, merges[r].right), RankedMerge{static_cast<int64_t>(r), merges[r].merged});

    for (int b = 0; b < 256; ++b) {
      static const char* hex = "0123456789ABCDEF";
      const std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
      auto it = lookup_.find(name);
      byte_ids_[b] = it == lookup_.end() ? -1 : it->second;
    }

    auto add_special = [&](int64_t id) {
      const std::string& piece = spec_.pieces[static_cast<std::size_t>(id)];
      if (piece.empty()) return;
      specials_.emplace(piece, static_cast<int32_t>(id));
      special_first_[static_cast<unsigned char>(piece[0])] = true;
      if (std::find(special_lengths_.begin(), special_lengths_.end(), piece.size()) == special_lengths_.end())
        special_lengths_.push_back(piece.size());
    };
    for (std::size_t i = 0; i < spec_.types.size(); ++i)
      if (spec_.types[i] == kTypeControl) add_special(static_cast<int64_t>(i));
    if (spec_.unk) add_special(*spec_.unk);
    if (spec_.bos) add_special(*spec_.bos);
    std::sort(special_lengths_.rbegin(), special_lengths_.rend());  // longest first
  }

  std::vector<int64_t> encode(std::string_view text) const override {
    unicode::validate_utf8(text);
    if (text.size() >= static_cast<std::size_t>(INT32_MAX / 4))
      throw Error(spec_.source + ": cannot encode " + std::to_string(text.size()) + " bytes at once (limit 512 MiB)");
    std::vector<int64_t> out;
    std::size_t start = 0;  // of the text not yet encoded
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
      if (!special_first_[static_cast<unsigned char>(text[pos])]) continue;
      for (std::size_t len : special_lengths_) {
        if (len > text.size() - pos) continue;
        auto it = specials_.find(std::string(text.substr(pos, len)));
        if (it == specials_.end()) continue;
        encode_text(text.substr(start, pos - start), out);
        out.push_back(it->second);
        pos += len - 1;
        start = pos + 1;
        break;
      }
    }
    encode_text(text.substr(start), out);
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string fused;
    std::string bytes;  // a run of byte pieces
    auto flush = [&] {
      if (bytes.empty()) return;
      if (utf8_valid(bytes)) {
        fused += bytes;
      } else {
        for (std::size_t i = 0; i < bytes.size(); ++i) fused += "\xEF\xBF\xBD";  // U+FFFD per byte
      }
      bytes.clear();
    };
    for (int64_t id : ids) {
      if (id < 0 || id >= vocab_size())
        throw Error(spec_.source + ": cannot decode id " + std::to_string(id) + ": not in the vocabulary (size " +
                    std::to_string(vocab_size()) + ")");
      const std::string& piece = spec_.pieces[static_cast<std::size_t>(id)];
      char byte;
      if (byte_piece(piece, &byte)) {
        bytes += byte;
        continue;
      }
      flush();
      fused += piece;
    }
    flush();
    std::string out;
    out.reserve(fused.size());
    for (std::size_t i = 0; i < fused.size(); ++i) {
      if (fused.compare(i, 3, kMeta) == 0) {
        out += ' ';
        i += 2;
      } else {
        out += fused[i];
      }
    }
    if (spec_.add_space_prefix && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return out;
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(spec_.pieces.size()); }
  std::optional<int64_t> bos_id() const override { return spec_.bos; }
  std::optional<int64_t> eos_id() const override { return spec_.eos; }
  std::string kind() const override { return "spm"; }

 private:
  static constexpr const char* kMeta = "\xE2\x96\x81";  // U+2581, SentencePiece's space

  struct RankedMerge {
    int64_t rank;
    int32_t merged;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }

  // HF's ByteFallback decoder: a token of exactly 6 bytes "<0x" HH ">", HH read by Rust's
  // u8::from_str_radix(_, 16) (which also takes "+H").
  static bool byte_piece(const std::string& piece, char* byte) {
    if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return false;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int v;
    if (piece[3] == '+') {
      v = hex(piece[4]);
    } else {
      const int hi = hex(piece[3]), lo = hex(piece[4]);
      v = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }
    if (v < 0) return false;
    *byte = static_cast<char>(v);
    return true;
  }

  static bool utf8_valid(const std::string& bytes) {
    try {
      unicode::validate_utf8(bytes);
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  // One stretch of text between special tokens: normalized, split into code points (byte
  // fallback, fused unknowns), merged by rank.
  void encode_text(std::string_view text, std::vector<int64_t>& out) const {
    if (text.empty()) return;
    std::string norm;
    norm.reserve(text.size() + text.size() / 2 + 3);
    if (spec_.add_space_prefix) norm += kMeta;
    for (char c : text) {
      if (c == ' ') {
        norm += kMeta;
      } else {
        norm += c;
      }
    }
    std::vector<int32_t> ids;
    ids.reserve(norm.size());
    // tokenizers' BPE::merge_word: a pending unknown is emitted before the next code point that
    // is a piece, but byte-fallback pieces are pushed ahead of it.
    bool unk_pending = false;
    for (std::size_t pos = 0; pos < norm.size();) {
      const std::size_t begin = pos;
      unicode::next_code_point(norm, pos);
      const std::string_view cp = std::string_view(norm).substr(begin, pos - begin);
      auto it = lookup_.find(std::string(cp));
      if (it != lookup_.end()) {
        if (unk_pending) ids.push_back(static_cast<int32_t>(*spec_.unk));
        unk_pending = false;
        ids.push_back(it->second);
        continue;
      }
      bool all_bytes = true;
      for (char b : cp) all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(b)] >= 0;
      if (all_bytes) {
        for (char b : cp) ids.push_back(byte_ids_[static_cast<unsigned char>(b)]);
        continue;
      }
      if (spec_.unk) unk_pending = true;  // fuse_unk: consecutive unknowns are one
    }
    if (unk_pending) ids.push_back(static_cast<int32_t>(*spec_.unk));
    merge_pairs(ids, [&](int32_t left, int32_t right, double* priority, int32_t* merged) {
      auto it = ranks_.find(pair_key(left, right));
      if (it == ranks_.end()) return false;
      *priority = -static_cast<double>(it->second.rank);
      *merged = it->second.merged;
      return true;
    });
    out.insert(out.end(), ids.begin(), ids.end());
  }

  SpmSpec spec_;
  std::unordered_map<std::string, int32_t> lookup_;
  std::unordered_map<uint64_t, RankedMerge> ranks_;
  std::array<int32_t, 256> byte_ids_{};
  std::unordered_map<std::string, int32_t> specials_;
  std::array<bool, 256> special_first_{};
  std::vector<std::size_t> special_lengths_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(SpmSpec spec) { return std::make_unique<SpmTokenizer>(std::move(spec)); }

std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::filesystem::path& path, int64_t vocab_size) {
  const std::string src = path.string();
  if (vocab_size < 0) throw Error(src + ": llama2.c vocabulary size must not be negative, got " + std::to_string(vocab_size));
  // A llama2.c tokenizer of 32,000 pieces is about 430 KB.
  const std::string data = read_file_bounded(path, std::uintmax_t{256} << 20, "llama2.c tokenizer");

  std::size_t off = 0;
  auto read_i32 = [&](const char* what, std::size_t piece) -> int32_t {
    if (data.size() - off < 4)
      throw Error(src + ": truncated llama2.c tokenizer: file ends at byte " + std::to_string(data.size()) +
                  " while reading the " + what + (piece == SIZE_MAX ? std::string() : " of piece " + std::to_string(piece)));
    int32_t v;
    std::memcpy(&v, data.data() + off, 4);
    off += 4;
    return v;
  };
  read_i32("max_token_length", SIZE_MAX);

  std::vector<std::string> pieces;
  std::vector<float> scores;
  for (std::size_t i = 0; vocab_size > 0 ? i < static_cast<std::size_t>(vocab_size) : off < data.size(); ++i) {
    const int32_t score_bits = read_i32("score", i);
    float score;
    std::memcpy(&score, &score_bits, 4);
    const int32_t len = read_i32("length", i);
    if (len < 0) throw Error(src + ": piece " + std::to_string(i) + " has negative length " + std::to_string(len));
    if (data.size() - off < static_cast<std::size_t>(len))
      throw Error(src + ": truncated llama2.c tokenizer: piece " + std::to_string(i) + " needs " + std::to_string(len) +
                  " bytes at byte " + std::to_string(off) + " but the file has " + std::to_string(data.size()) + " bytes");
    std::string piece = data.substr(off, static_cast<std::size_t>(len));
    off += static_cast<std::size_t>(len);
    if (auto nul = piece.find('\0'); nul != std::string::npos) piece.resize(nul);  // a C string in run.c
    pieces.push_back(std::move(piece));
    scores.push_back(score);
  }
  if (pieces.empty()) throw Error(src + ": llama2.c tokenizer has no pieces");
  return std::make_unique<Llama2cTokenizer>(src, std::move(pieces), std::move(scores));
}

}  // namespace eidetic::tok
