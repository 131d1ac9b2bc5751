// attacks/items.h: where extraction items (a prefix and its true continuation) come from.
//
// The same items serve several attacks: .npy prefix/suffix arrays (the extraction challenge's
// format), rows of a Megatron dataset at an offset (Pythia's pre-shuffled Pile), or the
// documents of a text/JSONL corpus. Each item may carry how many times it occurs in the
// training data (a .npy of counts), which attacks bucket their rates by.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "attacks/params.h"

namespace eidetic::tok {
class Tokenizer;
}

namespace eidetic::attacks {

struct Item {
  std::vector<int64_t> context;  // tokens before the prefix (the longest prefix the item allows)
  std::vector<int64_t> suffix;   // the true continuation
  std::optional<int64_t> duplicates;
  std::string source;            // where it came from, for records ("row 17", "file.txt")
};

// Where items come from: the parameters of an item source, a base of an attack's Params.
struct ItemSource {
  std::string source = "npy";  // npy, megatron, text, jsonl
  std::string items;           // jsonl
  std::string prefix, suffix, duplicates;  // npy
  std::string preprefix;                   // npy: tokens before each prefix (more context)
  std::string dataset;         // megatron
  int64_t start_row = 0, offset = 0;
  std::vector<std::string> files;  // text
  int64_t stride = 0;              // text: an item every `stride` tokens (0: one, at the start)
  int64_t limit = 0;
  int64_t prefix_len = 0, suffix_len = 0;
};

// The table rows of an item source, added to the table of a Params deriving from ItemSource.
template <class P>
void add_item_source_params(ParamTable<P>& t) {
  using S = ItemSource;
  t.push_back(param<P>("source", &S::source, "npy", "where items come from", false, {"npy", "megatron", "text", "jsonl"}));
  t.push_back(param<P>("items", &S::items, "", "jsonl source: one {\"prefix\": [ids], \"suffix\": [ids], \"duplicates\": n} per line"));
  t.push_back(param<P>("prefix", &S::prefix, "", "npy source: (N, P) integer array of prefixes"));
  t.push_back(param<P>("suffix", &S::suffix, "", "npy source: (N, S) integer array of true suffixes"));
  t.push_back(param<P>("preprefix", &S::preprefix, "",
                       "npy source: optional (N, Q) tokens before each prefix, for contexts longer than the prefix "
                       "(the challenge's val_preprefix.npy: 100 more)"));
  t.push_back(param<P>("duplicates", &S::duplicates, "", "optional (N) integer .npy: copies of each item in the training data"));
  t.push_back(param<P>("dataset", &S::dataset, "", "megatron source: PREFIX of the .bin/.idx pair"));
  t.push_back(param<P>("start_row", &S::start_row, "0", "megatron source: first row").at_least(0));
  t.push_back(param<P>("offset", &S::offset, "0", "megatron source: token position where the prefix starts").at_least(0));
  t.push_back(param<P>("files", &S::files, "[]", "text source: .txt/.jsonl files or folders"));
  t.push_back(param<P>("stride", &S::stride, "0",
                       "text source: an item every N tokens of each document (0: one item, at its start)")
                  .at_least(0));
  t.push_back(param<P>("limit", &S::limit, "0", "only the first N items (0: all)").at_least(0));
  t.push_back(param<P>("prefix_len", &S::prefix_len, "0", "prefix tokens (0: all the item has)").at_least(0));
  t.push_back(param<P>("suffix_len", &S::suffix_len, "0", "suffix tokens to extract (0: all)").at_least(0));
}

// Reads the items a source describes. `vocab` bounds the token ids (clear error naming the file
// otherwise); `tokenizer` is needed for text sources.
std::vector<Item> load_items(const ItemSource& p, int64_t vocab, const tok::Tokenizer* tokenizer);

}  // namespace eidetic::attacks
