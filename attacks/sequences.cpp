// attacks/sequences.cpp: see sequences.h.
#include "attacks/sequences.h"

#include "common/error.h"
#include "corpus/npy.h"
#include "corpus/text_corpus.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {

std::vector<std::vector<int64_t>> load_sequences(const std::vector<std::string>& files, const tok::Tokenizer* tokenizer,
                                                 int64_t vocab, int64_t max_tokens, const std::string& what,
                                                 bool chunk) {
  std::vector<std::vector<int64_t>> out;
  std::vector<std::filesystem::path> text;
  for (const auto& f : files) {
    const std::filesystem::path path = f;
    if (path.extension() == ".npy") {
      const auto a = corpus::read_npy_tokens(path);
      if (a.shape.size() != 2) throw Error(path.string() + ": expected a 2-D (N, T) array of token ids");
      for (int64_t i = 0; i < a.shape[0]; ++i) {
        std::vector<int64_t> row(a.values.begin() + i * a.shape[1], a.values.begin() + (i + 1) * a.shape[1]);
        for (int64_t id : row)
          if (id < 0 || id >= vocab)
            throw Error(path.string() + ": token id " + std::to_string(id) + " in row " + std::to_string(i) +
                        " is outside the model's vocabulary of " + std::to_string(vocab));
        out.push_back(std::move(row));
      }
    } else {
      text.push_back(path);
    }
  }
  if (!text.empty()) {
    if (!tokenizer) throw Error(what + ": text files need a tokenizer (model.tokenizer)");
    for (auto& doc : corpus::read_text_corpus(text, *tokenizer)) {
      if (doc.tokens.size() < 2) continue;
      const auto n = static_cast<int64_t>(doc.tokens.size());
      if (chunk && max_tokens > 0 && n > max_tokens) {
        for (int64_t start = 0; start + max_tokens <= n; start += max_tokens)
          out.emplace_back(doc.tokens.begin() + start, doc.tokens.begin() + start + max_tokens);
        continue;
      }
      if (max_tokens > 0 && static_cast<int64_t>(doc.tokens.size()) > max_tokens) doc.tokens.resize(static_cast<size_t>(max_tokens));
      out.push_back(std::move(doc.tokens));
    }
  }
  if (out.empty()) throw Error(what + ": no sequences of at least 2 tokens");
  for (const auto& s : out)
    if (s.size() < 2) throw Error(what + ": sequences need at least 2 tokens to be scored");
  return out;
}

}  // namespace eidetic::attacks
