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

#include "common/schema.h"

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

// The fields of an item source (merged into an attack's parameters).
std::vector<Field> item_source_fields(int64_t default_prefix_len, int64_t default_suffix_len);

// Reads the items an attack's parameters describe. `vocab` bounds the token ids (clear error
// naming the file otherwise); `tokenizer` is needed for text sources.
std::vector<Item> load_items(const nlohmann::json& params, int64_t vocab, const tok::Tokenizer* tokenizer);

}  // namespace eidetic::attacks
