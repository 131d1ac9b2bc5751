// tokenizers/byte_level_bpe.h: byte-level BPE (GPT-2, GPT-NeoX-20B / Pythia, StarCoder / SmolLM,
// Llama 3, Qwen2) as Hugging Face `tokenizers` runs it: added tokens split out first (their
// lstrip/rstrip/single_word/normalized flags honoured), then NFC when asked, the pre-tokenizer
// (GPT-2's ByteLevel regex, or digits split off before it, or the Llama 3 / Qwen2 split regex;
// all over code points, bytes mapped to printable characters), BPE merges by rank, and the
// ByteLevel decoder. The spec structs are what the readers of tokenizer.json / vocab+merges
// files produce.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

// The pre-tokenizer in front of BPE: each value is one pipeline of HF `tokenizers` (the llama.cpp
// names of the same rules in brackets). The regexes are implemented by hand over code points.
enum class PreTokenizer {
  // ByteLevel(use_regex = BpeSpec::use_regex): the GPT-2 regex
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  ["gpt-2"]
  gpt2,
  // Sequence[Digits(individual_digits=true), ByteLevel(use_regex=true)]: every numeric code point
  // (Rust's char::is_numeric, unicode::is_numeric) is a piece of its own, then the GPT-2 regex
  // cuts each other piece. StarCoder, SmolLM  ["smollm", "starcoder"]
  digits_gpt2,
  // Sequence[Split(Regex(R), Isolated), ByteLevel(use_regex=false)] with R =
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  // Llama 3 (whose tokenizer.json also sets the model's ignore_merges, a separate field here)
  // ["llama3", "llama-bpe"]
  llama3,
  // The NFC normalizer (implied: BpeSpec::nfc is taken as true) and llama3's split with \p{N}
  // (one digit) in place of \p{N}{1,3}. Qwen2  ["qwen2"]
  qwen2,
};
// "gpt2", "digits_gpt2", "llama3", "qwen2".
const char* pre_tokenizer_name(PreTokenizer pre);

struct BpeSpec {
  using PreTokenizer = tok::PreTokenizer;
  std::string source;  // file named in error messages
  std::vector<std::pair<std::string, int64_t>> vocab;          // byte-level token -> id
  std::vector<std::pair<std::string, std::string>> merges;     // in rank order
  std::vector<AddedTokenSpec> added_tokens;                     // in file order
  bool nfc = false;                                             // normalizer NFC
  PreTokenizer pre = PreTokenizer::gpt2;
  bool add_prefix_space = false;  // ByteLevel: a space before each piece it gets (any `pre`)
  bool use_regex = true;          // ByteLevel's GPT-2 regex; only read when pre == gpt2
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  std::optional<std::string> unk_token;
  bool byte_level_decoder = true;  // false: no decoder, tokens joined by " " as HF does
};

// Reads a HF tokenizer.json; throws eidetic::Error for malformed files and for components
// other than model BPE, normalizer NFC, decoder ByteLevel and the pre-tokenizers of
// PreTokenizer: ByteLevel (alone or in a Sequence), Sequence[Digits(individual_digits=true),
// ByteLevel(use_regex=true)], Sequence[Split(Regex(<the Llama 3 or Qwen2 pattern>), Isolated,
// invert=false), ByteLevel(use_regex=false)] (Qwen2's pattern only with the NFC normalizer).
BpeSpec read_tokenizer_json(const std::filesystem::path& path);
// Reads vocab.json/encoder.json + merges.txt/vocab.bpe (GPT-2 layout); "<|endoftext|>" becomes
// a special added token when the vocabulary has it.
BpeSpec read_vocab_and_merges(const std::filesystem::path& vocab_path,
                              const std::filesystem::path& merges_path);

std::unique_ptr<Tokenizer> make_byte_level_bpe(BpeSpec spec);

// The pre-tokenizer alone (GPT-2's regex by default; no prefix space, no normalizer): the pieces
// of valid UTF-8 text, each mapped to byte-level characters, as BPE sees them. Used to train
// merges and by the tests.
std::vector<std::string> byte_level_pretokenize(std::string_view text, PreTokenizer pre = PreTokenizer::gpt2);
// The byte-level character (as UTF-8) that stands for byte b.
std::string byte_level_symbol(unsigned char b);

}  // namespace eidetic::tok
