// corpus/text_corpus.h: plain-text and JSON Lines corpora, tokenized into documents.
//
// Small lab corpora (a set of .txt files, or a .jsonl dump with one record per line as the
// Pile's own files are) are how canaries, planted sequences and reference corpora get in:
// each document is tokenized with the target model's tokenizer, so its ids can be searched for
// in generations and indexed by corpus/ngram_index.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tokenizers/tokenizer.h"

namespace eidetic::corpus {

struct Document {
  std::string name;             // the file path, or "FILE:LINE" for a JSON Lines record
  std::vector<int64_t> tokens;  // no BOS/EOS added
};

// Reads and tokenizes `files`, in the order given:
// - a .txt file is one document, named by its path; so is a file named here (not found in a
//   folder) that is .md, .rst, has no extension or a version number for one (GPL-3, Apache-2.0);
// - a .jsonl file is one document per non-empty line, each a JSON object whose `jsonl_field`
//   is a string (name "FILE:LINE", lines counted from 1);
// - a folder stands for every .txt and .jsonl file under it (recursively), sorted by path.
// Errors (eidetic::Error): a missing path, another file extension, FILE:LINE for malformed
// JSON, a line that is not an object, or a missing or non-string field; the file (and line)
// for text the tokenizer rejects, such as invalid UTF-8.
std::vector<Document> read_text_corpus(const std::vector<std::filesystem::path>& files,
                                       const tok::Tokenizer& tokenizer,
                                       const std::string& jsonl_field = "text");

}  // namespace eidetic::corpus
