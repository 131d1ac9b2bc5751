// attacks/items.cpp: see items.h.
#include "attacks/items.h"

#include <fstream>

#include "common/error.h"
#include "corpus/megatron.h"
#include "corpus/npy.h"
#include "corpus/text_corpus.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {
namespace {


void check_ids(const std::vector<int64_t>& ids, int64_t vocab, const std::string& where) {
  for (int64_t id : ids)
    if (id < 0 || id >= vocab)
      throw Error(where + ": token id " + std::to_string(id) + " is outside the model's vocabulary of " + std::to_string(vocab));
}

}  // namespace

std::vector<Item> load_items(const ItemSource& p, int64_t vocab, const tok::Tokenizer* tokenizer) {
  const std::string& source = p.source;
  const int64_t limit = p.limit;
  const int64_t prefix_len = p.prefix_len, suffix_len = p.suffix_len;
  if (prefix_len < 0 || suffix_len < 0) throw Error("attack: prefix_len and suffix_len must be >= 0");
  std::vector<Item> items;
  if (source == "npy") {
    const std::string &pf = p.prefix, &sf = p.suffix;
    if (pf.empty() || sf.empty()) throw Error("attack: the npy source needs `prefix` and `suffix` files");
    const auto prefix = corpus::read_npy_tokens(pf);
    const auto suffix = corpus::read_npy_tokens(sf);
    if (prefix.shape.size() != 2) throw Error(pf + ": expected a 2-D (N, P) array of token ids");
    if (suffix.shape.size() != 2) throw Error(sf + ": expected a 2-D (N, S) array of token ids");
    if (prefix.shape[0] != suffix.shape[0])
      throw Error(sf + ": has " + std::to_string(suffix.shape[0]) + " rows but " + pf + " has " + std::to_string(prefix.shape[0]));
    const int64_t N = prefix.shape[0], P = prefix.shape[1], S = suffix.shape[1];
    // The pre-prefix, when given, extends every row's context backwards: context = pre-prefix
    // row followed by prefix row (the challenge's 100 + 50 tokens).
    corpus::TokenArray pre;
    int64_t Q = 0;
    if (!p.preprefix.empty()) {
      pre = corpus::read_npy_tokens(p.preprefix);
      if (pre.shape.size() != 2) throw Error(p.preprefix + ": expected a 2-D (N, Q) array of token ids");
      if (pre.shape[0] != N)
        throw Error(p.preprefix + ": has " + std::to_string(pre.shape[0]) + " rows but " + pf + " has " + std::to_string(N));
      Q = pre.shape[1];
    }
    if (prefix_len > P + Q)
      throw Error((Q ? p.preprefix + " + " : std::string()) + pf + ": prefix_len " + std::to_string(prefix_len) +
                  " exceeds the " + std::to_string(P + Q) + " tokens of context each row has");
    if (suffix_len > S) throw Error(sf + ": suffix_len " + std::to_string(suffix_len) + " exceeds its " + std::to_string(S) + " columns");
    std::vector<int64_t> counts;
    if (!p.duplicates.empty()) {
      const std::string& df = p.duplicates;
      const auto d = corpus::read_npy_tokens(df);
      if (d.shape.size() != 1 || d.shape[0] != N) throw Error(df + ": expected a 1-D array of " + std::to_string(N) + " counts");
      counts = d.values;
    }
    const int64_t n = limit > 0 ? std::min(N, limit) : N;
    const int64_t keep_p = prefix_len ? prefix_len : P + Q, keep_s = suffix_len ? suffix_len : S;
    for (int64_t i = 0; i < n; ++i) {
      Item it;
      if (Q) {
        it.context.assign(pre.values.begin() + i * Q, pre.values.begin() + (i + 1) * Q);
        check_ids(it.context, vocab, p.preprefix + " row " + std::to_string(i));
      }
      it.context.insert(it.context.end(), prefix.values.begin() + i * P, prefix.values.begin() + (i + 1) * P);
      it.context.erase(it.context.begin(), it.context.end() - keep_p);
      it.suffix.assign(suffix.values.begin() + i * S, suffix.values.begin() + i * S + keep_s);
      check_ids(it.context, vocab, pf + " row " + std::to_string(i));
      check_ids(it.suffix, vocab, sf + " row " + std::to_string(i));
      if (!counts.empty()) it.duplicates = counts[static_cast<size_t>(i)];
      it.source = "row " + std::to_string(i);
      items.push_back(std::move(it));
    }
  } else if (source == "jsonl") {
    const std::string& path = p.items;
    if (path.empty()) throw Error("attack: the jsonl source needs `items`");
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open the items file");
    int64_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      if (line.empty()) continue;
      if (limit > 0 && static_cast<int64_t>(items.size()) >= limit) break;
      const std::string where = path + ":" + std::to_string(line_no);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
        Item it;
        it.context = j.at("prefix").get<std::vector<int64_t>>();
        it.suffix = j.at("suffix").get<std::vector<int64_t>>();
        if (j.contains("duplicates")) it.duplicates = j.at("duplicates").get<int64_t>();
        it.source = j.value("source", where);
        if (prefix_len > 0 && static_cast<int64_t>(it.context.size()) > prefix_len)
          it.context.erase(it.context.begin(), it.context.end() - prefix_len);
        if (suffix_len > 0 && static_cast<int64_t>(it.suffix.size()) > suffix_len) it.suffix.resize(static_cast<size_t>(suffix_len));
        if (it.context.empty() || it.suffix.empty()) throw Error(where + ": prefix and suffix must be non-empty");
        check_ids(it.context, vocab, where);
        check_ids(it.suffix, vocab, where);
        items.push_back(std::move(it));
      } catch (const nlohmann::json::exception& e) {
        throw Error(where + ": not an item (" + std::string(e.what()) + ")");
      }
    }
  } else if (source == "megatron") {
    const std::string& path = p.dataset;
    if (path.empty()) throw Error("attack: the megatron source needs `dataset`");
    const corpus::MegatronDataset data(path);
    const int64_t start = p.start_row, offset = p.offset;
    const int64_t pl = prefix_len ? prefix_len : 32, sl = suffix_len ? suffix_len : 32;
    if (start < 0 || start >= data.size())
      throw Error(path + ": start_row " + std::to_string(start) + " is past its " + std::to_string(data.size()) + " rows");
    const int64_t end = limit > 0 ? std::min(data.size(), start + limit) : data.size();
    for (int64_t r = start; r < end; ++r) {
      if (data.length(r) < offset + pl + sl) continue;
      const auto tokens = data.sequence(r, offset, pl + sl);
      Item it;
      it.context.assign(tokens.begin(), tokens.begin() + pl);
      it.suffix.assign(tokens.begin() + pl, tokens.end());
      check_ids(tokens, vocab, path + " row " + std::to_string(r));
      it.source = "row " + std::to_string(r);
      items.push_back(std::move(it));
    }
  } else {
    if (!tokenizer) throw Error("attack: the text source needs a tokenizer (model.tokenizer)");
    std::vector<std::filesystem::path> files;
    for (const auto& x : p.files) files.emplace_back(x);
    if (files.empty()) throw Error("attack: the text source needs `files`");
    const int64_t pl = prefix_len ? prefix_len : 50, sl = suffix_len ? suffix_len : 50;
    for (const auto& doc : corpus::read_text_corpus(files, *tokenizer)) {
      check_ids(doc.tokens, vocab, doc.name);
      const auto n = static_cast<int64_t>(doc.tokens.size());
      for (int64_t start = 0; start + pl + sl <= n; start += p.stride) {
        if (limit > 0 && static_cast<int64_t>(items.size()) >= limit) break;
        Item it;
        it.context.assign(doc.tokens.begin() + start, doc.tokens.begin() + start + pl);
        it.suffix.assign(doc.tokens.begin() + start + pl, doc.tokens.begin() + start + pl + sl);
        it.source = p.stride > 0 ? doc.name + " @" + std::to_string(start) : doc.name;
        items.push_back(std::move(it));
        if (p.stride == 0) break;
      }
    }
  }
  if (items.empty()) throw Error("attack: the item source yields no items (sequences too short, or limit 0 rows)");
  return items;
}

}  // namespace eidetic::attacks
