// tokenizers/llama2c.cpp: the llama2.c tokenizer (see llama2c.h), equal to run.c's encode()
// and to what run.c prints for generated tokens.
//
// Encoding: a dummy-prefix " " token when the text is not empty; each UTF-8 code point looked
// up as a piece, else byte fallback to id byte + 3; then, repeatedly, the adjacent pair whose
// concatenation is a piece with the highest score is merged (the leftmost on ties; scores must
// exceed -1e10 as in run.c). run.c rescans the whole sequence per merge; a heap of candidate
// pairs keyed by (score, position) gives the same sequence of merges in O(n log n).
// Pieces are C strings in run.c, so a piece is cut at its first NUL byte here too.
#include "tokenizers/llama2c.h"

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

  struct Candidate {
    float score;
    int32_t pos, right;  // symbol indices
    int32_t left_id, right_id, merged_id;
  };
  struct Worse {  // the heap's top is the highest score, then the lowest position
    bool operator()(const Candidate& a, const Candidate& b) const {
      if (a.score != b.score) return a.score < b.score;
      return a.pos > b.pos;
    }
  };

  void merge(std::vector<int32_t>& ids) const {
    const int32_t n = static_cast<int32_t>(ids.size());
    std::vector<int32_t> prev(n), next(n);
    std::vector<bool> alive(n, true);
    for (int32_t i = 0; i < n; ++i) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    std::priority_queue<Candidate, std::vector<Candidate>, Worse> heap;
    std::string buffer;
    auto consider = [&](int32_t left, int32_t right) {
      buffer.assign(pieces_[ids[left]]);
      buffer.append(pieces_[ids[right]]);
      auto it = lookup_.find(buffer);
      if (it == lookup_.end()) return;
      const float score = scores_[it->second];
      if (!(score > kMinScore)) return;  // also drops NaN, as run.c's comparison does
      heap.push({score, left, right, ids[left], ids[right], it->second});
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

  std::string source_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> lookup_;
};

}  // namespace

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
