// corpus/lab.h: the memorization lab's corpus: background text with planted items whose number
// of copies is known exactly.
//
// Three kinds of items are planted, each split into the part an attacker is given (prefix)
// and the part that would leak (secret):
//   canary   "my secret number is" + six random digits (the Secret Sharer's form);
//   record   "Name: <first> <last>." + a synthetic e-mail, phone and street address, drawn from
//            built-in lists (fictional: example.org mail, 555-01xx phones), no real people;
//   passage  a passage of real text held out of the background: its first words, then the rest.
// For every count in the schedule (1, 2, 4, ... 64 by default) `items_per_count` items of each
// kind are made, and each is inserted that many times as a document of its own; the documents
// (background and copies) are shuffled, so copies land at random positions. As many items of
// each kind are made and never planted: the non-members of membership inference. The manifest
// records every item, its count and the character offset of every copy in the corpus text.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace eidetic::corpus {

struct LabItem {
  int64_t id = 0;
  std::string kind;    // "canary", "record", "passage"
  std::string prefix;  // what an attacker is given
  std::string secret;  // what would leak (for canaries: the digits, spaced)
  int64_t copies = 0;  // 0: never planted (a non-member)
  std::vector<int64_t> offsets;  // character offset of each copy in text()
  std::string text() const { return prefix + secret; }
};

struct LabOptions {
  std::vector<int64_t> copies = {1, 2, 4, 8, 16, 32, 64};
  int64_t items_per_count = 2;
  std::vector<std::string> kinds = {"canary", "record", "passage"};
  std::vector<std::filesystem::path> background;  // text files; empty: default_background()
  uint64_t seed = 0;
};

struct LabCorpus {
  std::vector<std::string> documents;  // in corpus order
  std::vector<LabItem> items;          // planted ones first, then the never-planted ones
  std::string separator = "\n\n";      // between documents in text()
  std::string text() const;
  nlohmann::json manifest() const;
};

// The files the lab reads when none are named: the English text of Debian's fortunes-min
// package (BSD licence), installed by scripts/setup.sh.
std::vector<std::filesystem::path> default_background();

// Throws eidetic::Error naming a missing or unreadable background file, or a background too
// small to hold the passages the schedule needs.
LabCorpus build_lab_corpus(const LabOptions& options);

}  // namespace eidetic::corpus
