// tokenizers/bpe_trainer.h: training a byte-level BPE tokenizer on a corpus.
//
// Small models memorize better with a vocabulary suited to their data: the memorization lab
// trains one of a few thousand pieces on its own corpus. The result is what Hugging Face's
// BpeTrainer gives for the same documents with a ByteLevel pre-tokenizer (no prefix space), the
// whole byte-level alphabet as initial alphabet, and the same vocab_size, special tokens and
// min_frequency (tests/bpe_trainer_oracle.py holds the two equal): ids are the special tokens,
// then the 256 byte-level characters in code-point order, then merged tokens as they form; the
// text is split by GPT-2's regex, words start as byte-level characters, and the most frequent
// adjacent pair (ties: the smallest pair of ids) is merged until the vocabulary reaches its size
// or no pair is seen min_frequency times. The result is written as a tokenizer.json that
// Hugging Face `tokenizers` and Eidetic's own loader both read.
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
