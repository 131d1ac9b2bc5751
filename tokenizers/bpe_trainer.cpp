// tokenizers/bpe_trainer.cpp: see bpe_trainer.h.
#include "tokenizers/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

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

}  // namespace

std::string train_byte_level_bpe(const std::vector<std::string>& documents, const BpeTrainOptions& options) {
  const int64_t base = static_cast<int64_t>(options.special_tokens.size()) + 256;
  if (options.vocab_size < base)
    throw Error("BPE training: vocab_size " + std::to_string(options.vocab_size) + " is below the " +
                std::to_string(base) + " special and byte tokens");
  // Words and their counts.
  std::map<std::string, int64_t> counts;
  for (const auto& doc : documents)
    for (auto& piece : byte_level_pretokenize(doc)) ++counts[piece];
  // Symbols as integers (their strings in `symbol`), words as symbol sequences.
  std::vector<std::string> symbol;
  std::unordered_map<std::string, int32_t> symbol_id;
  auto intern = [&](const std::string& s) {
    const auto it = symbol_id.find(s);
    if (it != symbol_id.end()) return it->second;
    symbol.push_back(s);
    return symbol_id[s] = static_cast<int32_t>(symbol.size() - 1);
  };
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> freq;
  for (const auto& [w, c] : counts) {
    std::vector<int32_t> ids;
    for (const auto& ch : characters(w)) ids.push_back(intern(ch));
    words.push_back(std::move(ids));
    freq.push_back(c);
  }
  nlohmann::json vocab = nlohmann::json::object();
  int64_t next_id = 0;
  for (const auto& t : options.special_tokens) vocab[t] = next_id++;
  for (int b = 0; b < 256; ++b) vocab[byte_level_symbol(static_cast<unsigned char>(b))] = next_id++;
  nlohmann::json merges = nlohmann::json::array();
  auto key = [](int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); };
  while (next_id < options.vocab_size) {
    std::unordered_map<uint64_t, int64_t> pairs;
    for (size_t w = 0; w < words.size(); ++w)
      for (size_t i = 0; i + 1 < words[w].size(); ++i) pairs[key(words[w][i], words[w][i + 1])] += freq[w];
    int64_t best_count = 0;
    uint64_t best = 0;
    for (const auto& [k, c] : pairs) {
      if (c < best_count) continue;
      const auto ka = static_cast<int32_t>(k >> 32), kb = static_cast<int32_t>(k & 0xffffffffu);
      const auto ba = static_cast<int32_t>(best >> 32), bb = static_cast<int32_t>(best & 0xffffffffu);
      // Ties go to the lexicographically smallest pair of strings, so the result is deterministic.
      if (c > best_count || std::make_pair(symbol[ka], symbol[kb]) < std::make_pair(symbol[ba], symbol[bb])) {
        best = k;
        best_count = c;
      }
    }
    if (best_count < std::max<int64_t>(options.min_frequency, 1)) break;
    const auto a = static_cast<int32_t>(best >> 32), b = static_cast<int32_t>(best & 0xffffffffu);
    const std::string merged_text = symbol[a] + symbol[b];
    const int32_t merged = intern(merged_text);
    if (!vocab.contains(merged_text)) vocab[merged_text] = next_id++;
    merges.push_back(symbol[a] + " " + symbol[b]);
    for (auto& word : words) {
      size_t out = 0;
      for (size_t i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == a && word[i + 1] == b) {
          word[out++] = merged;
          i += 2;
        } else {
          word[out++] = word[i++];
        }
      }
      word.resize(out);
    }
  }
  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < options.special_tokens.size(); ++i)
    added.push_back({{"id", i}, {"content", options.special_tokens[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
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
                  {"merges", merges}};
  return out.dump() + "\n";
}

}  // namespace eidetic::tok
