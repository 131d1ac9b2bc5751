// tokenizers/byte_level_bpe.h: byte-level BPE (GPT-2, GPT-NeoX-20B / Pythia) as Hugging Face
// `tokenizers` runs it: added tokens split out first (their lstrip/rstrip/single_word/normalized
// flags honoured), then NFC when asked, the ByteLevel pre-tokenizer (GPT-2 regex over code
// points, bytes mapped to printable characters), BPE merges by rank, and the ByteLevel decoder.
// The spec structs are what the readers of tokenizer.json / vocab+merges files produce.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizers/tokenizer.h"

namespace eidetic::tok {

struct AddedTokenSpec {
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
};

struct BpeSpec {
  std::string source;  // file named in error messages
  std::vector<std::pair<std::string, int64_t>> vocab;          // byte-level token -> id
  std::vector<std::pair<std::string, std::string>> merges;     // in rank order
  std::vector<AddedTokenSpec> added_tokens;                     // in file order
  bool nfc = false;                                             // normalizer NFC
  bool add_prefix_space = false;                                // ByteLevel pre-tokenizer
  bool use_regex = true;                                        // ByteLevel pre-tokenizer
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  std::optional<std::string> unk_token;
  bool byte_level_decoder = true;  // false: no decoder, tokens joined by " " as HF does
};

// Reads a HF tokenizer.json; throws eidetic::Error for malformed files and for components
// other than model BPE, pre-tokenizer ByteLevel, normalizer NFC, decoder ByteLevel.
BpeSpec read_tokenizer_json(const std::filesystem::path& path);
// Reads vocab.json/encoder.json + merges.txt/vocab.bpe (GPT-2 layout); "<|endoftext|>" becomes
// a special added token when the vocabulary has it.
BpeSpec read_vocab_and_merges(const std::filesystem::path& vocab_path,
                              const std::filesystem::path& merges_path);

std::unique_ptr<Tokenizer> make_byte_level_bpe(BpeSpec spec);

// The ByteLevel pre-tokenizer alone (GPT-2's regex, no prefix space): the pieces of valid
// UTF-8 text, each mapped to byte-level characters, as BPE sees them. Used to train merges.
std::vector<std::string> byte_level_pretokenize(std::string_view text);
// The byte-level character (as UTF-8) that stands for byte b.
std::string byte_level_symbol(unsigned char b);

}  // namespace eidetic::tok
