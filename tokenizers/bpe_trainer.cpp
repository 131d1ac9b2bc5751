// tokenizers/bpe_trainer.cpp: see bpe_trainer.h.
#include "tokenizers/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "common/error.h"
#include "tokenizers/byte_level_bpe.h"
#include "tokenizers/unicode.h"

namespace eidetic::tok {
namespace {

// Splits a byte-level string into its characters (each a UTF-8 sequence).
std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// The code point of a UTF-8 character (the byte-level alphabet is ordered by code point).
char32_t code_point(const std::string& ch) {
  const auto b0 = static_cast<unsigned char>(ch[0]);
  if (b0 < 0x80) return b0;
  const int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : 1;
  char32_t cp = b0 & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) cp = (cp << 6) | (static_cast<unsigned char>(ch[static_cast<size_t>(k)]) & 0x3F);
  return cp;
}

using Pair = std::pair<uint32_t, uint32_t>;
uint64_t key(Pair p) { return (static_cast<uint64_t>(p.first) << 32) | p.second; }
Pair unkey(uint64_t k) { return {static_cast<uint32_t>(k >> 32), static_cast<uint32_t>(k & 0xffffffffu)}; }

// A candidate merge in the queue: the pair, its count when queued, and the words it was seen in.
struct Candidate {
  uint64_t pair;
  int64_t count;
  std::vector<uint32_t> words;  // sorted, distinct
};
// The queue's top is the highest count; among equal counts the smallest pair of ids.
struct Lower {
  bool operator()(const Candidate& x, const Candidate& y) const {
    if (x.count != y.count) return x.count < y.count;
    return x.pair > y.pair;
  }
};

// Merges every occurrence of (a, b) in `word`, left to right, into `merged`, and reports how
// the counts of the neighbouring pairs change (one entry per occurrence, as the reference does).
void merge_word(std::vector<uint32_t>& word, uint32_t a, uint32_t b, uint32_t merged,
                std::vector<std::pair<Pair, int>>& changes) {
  for (size_t i = 0; i < word.size(); ++i) {
    if (word[i] != a || i + 1 >= word.size() || word[i + 1] != b) continue;
    if (i > 0) {
      changes.push_back({{word[i - 1], a}, -1});
      changes.push_back({{word[i - 1], merged}, 1});
    }
    word[i] = merged;
    word.erase(word.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    if (i + 1 < word.size()) {
      changes.push_back({{b, word[i + 1]}, -1});
      changes.push_back({{merged, word[i + 1]}, 1});
    }
  }
}

}  // namespace

// Hugging Face's BpeTrainer (tokenizers/src/models/bpe/trainer.rs), step for step:
//  - ids: the special tokens in order, then the alphabet (every byte-level character) sorted by
//    code point, then each merged token when first formed (a token formed again by another merge
//    keeps its id);
//  - pair counts are kept incrementally: after a merge only the pairs around it change, and a
//    queue ordered by (count, then the smallest pair of ids) picks the next merge; a queued count
//    that is out of date is refreshed and re-queued rather than merged;
//  - a pair is merged only in the words recorded with its queue entry, so a pair that a later
//    merge forms again elsewhere can be merged a second time; the tokenizer.json then lists it
//    once, at its later rank (as HF's serialization does).
std::string train_byte_level_bpe(const std::vector<std::string>& documents, const BpeTrainOptions& options) {
  const int64_t base = static_cast<int64_t>(options.special_tokens.size()) + 256;
  if (options.vocab_size < base)
    throw Error("BPE training: vocab_size " + std::to_string(options.vocab_size) + " is below the " +
                std::to_string(base) + " special and byte tokens");
  // Words and their counts.
  std::map<std::string, int64_t> counts;
  for (const auto& doc : documents)
    for (auto& piece : byte_level_pretokenize(doc)) ++counts[piece];

  std::vector<std::string> id_to_token;
  std::unordered_map<std::string, uint32_t> token_to_id;
  auto add_token = [&](const std::string& s) {
    const auto it = token_to_id.find(s);
    if (it != token_to_id.end()) return it->second;
    id_to_token.push_back(s);
    return token_to_id[s] = static_cast<uint32_t>(id_to_token.size() - 1);
  };
  for (const auto& t : options.special_tokens) add_token(t);
  std::vector<std::string> alphabet;
  for (int b = 0; b < 256; ++b) alphabet.push_back(byte_level_symbol(static_cast<unsigned char>(b)));
  std::sort(alphabet.begin(), alphabet.end(),
            [](const std::string& x, const std::string& y) { return code_point(x) < code_point(y); });
  for (const auto& ch : alphabet) add_token(ch);

  std::vector<std::vector<uint32_t>> words;
  std::vector<int64_t> freq;
  for (const auto& [w, c] : counts) {
    std::vector<uint32_t> ids;
    for (const auto& ch : characters(w)) ids.push_back(token_to_id.at(ch));
    words.push_back(std::move(ids));
    freq.push_back(c);
  }

  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::map<uint64_t, std::vector<uint32_t>> where;  // pair -> words to queue it with
  for (size_t w = 0; w < words.size(); ++w)
    for (size_t i = 0; i + 1 < words[w].size(); ++i) {
      const uint64_t k = key({words[w][i], words[w][i + 1]});
      pair_counts[k] += freq[w];
      auto& ws = where[k];
      if (ws.empty() || ws.back() != w) ws.push_back(static_cast<uint32_t>(w));
    }
  std::vector<Candidate> queue;  // a heap under Lower
  auto push = [&](Candidate c) {
    queue.push_back(std::move(c));
    std::push_heap(queue.begin(), queue.end(), Lower{});
  };
  auto queue_changed = [&] {
    for (auto& [k, ws] : where) {
      const int64_t c = pair_counts[k];
      if (c > 0) push(Candidate{k, c, std::move(ws)});
    }
    where.clear();
  };
  queue_changed();

  const int64_t min_count = std::max<int64_t>(options.min_frequency, 1);
  std::vector<std::pair<Pair, uint32_t>> merges;
  std::vector<std::pair<Pair, int>> changes;
  std::vector<uint32_t> changed_in;
  while (static_cast<int64_t>(id_to_token.size()) < options.vocab_size && !queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), Lower{});
    Candidate top = std::move(queue.back());
    queue.pop_back();
    const int64_t now = pair_counts[top.pair];
    if (top.count != now) {
      top.count = now;
      push(std::move(top));
      continue;
    }
    if (top.count < min_count) break;
    const auto [a, b] = unkey(top.pair);
    const uint32_t merged = add_token(id_to_token[a] + id_to_token[b]);
    merges.push_back({{a, b}, merged});
    for (const uint32_t w : top.words) {
      changes.clear();
      merge_word(words[w], a, b, merged, changes);
      for (const auto& [p, change] : changes) {
        const uint64_t k = key(p);
        pair_counts[k] += change * freq[w];
        if (change > 0) {
          auto& ws = where[k];
          if (ws.empty() || ws.back() != w) ws.push_back(w);
        }
      }
    }
    queue_changed();
  }

  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (size_t id = 0; id < id_to_token.size(); ++id) vocab[id_to_token[id]] = id;
  // A pair merged twice keeps its later rank only.
  std::map<uint64_t, size_t> last_rank;
  for (size_t r = 0; r < merges.size(); ++r) last_rank[key(merges[r].first)] = r;
  nlohmann::json merge_lines = nlohmann::json::array();
  for (size_t r = 0; r < merges.size(); ++r)
    if (last_rank[key(merges[r].first)] == r)
      merge_lines.push_back(id_to_token[merges[r].first.first] + " " + id_to_token[merges[r].first.second]);

  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < options.special_tokens.size(); ++i)
    added.push_back({{"id", token_to_id.at(options.special_tokens[i])}, {"content", options.special_tokens[i]},
                     {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}});
  const nlohmann::json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  nlohmann::ordered_json out;
  out["version"] = "1.0";
  out["truncation"] = nullptr;
  out["padding"] = nullptr;
  out["added_tokens"] = added;
  out["normalizer"] = nullptr;
  out["pre_tokenizer"] = byte_level;
  out["post_processor"] = byte_level;
  out["decoder"] = byte_level;
  out["model"] = {{"type", "BPE"},         {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr}, {"fuse_unk", false},  {"byte_fallback", false}, {"vocab", vocab},
                  {"merges", merge_lines}};
  return out.dump() + "\n";
}

}  // namespace eidetic::tok
