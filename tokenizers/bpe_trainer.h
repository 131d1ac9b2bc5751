// tokenizers/bpe_trainer.h: training a byte-level BPE tokenizer on a corpus.
//
// Small models memorize better with a vocabulary suited to their data: the memorization lab
// trains one of a few thousand pieces on its own corpus. The algorithm is the classic one
// Hugging Face's BpeTrainer runs for byte-level BPE: the text is split by the ByteLevel
// pre-tokenizer (GPT-2's regex), words start as byte-level characters, and the most frequent
// adjacent pair (ties: the lexicographically smallest) is merged until the vocabulary reaches
// its size. The result is written as a tokenizer.json that Hugging Face `tokenizers` and
// Eidetic's own loader both read.
#pragma once

#include <string>
#include <vector>

namespace eidetic::tok {

struct BpeTrainOptions {
  int64_t vocab_size = 2048;                                    // special tokens + 256 bytes + merges
  std::vector<std::string> special_tokens = {"<|endoftext|>"};  // ids 0.. in this order
  int64_t min_frequency = 2;                                    // pairs seen fewer times are not merged
};

// Trains on the documents and returns the tokenizer.json text.
std::string train_byte_level_bpe(const std::vector<std::string>& documents, const BpeTrainOptions& options = {});

}  // namespace eidetic::tok
