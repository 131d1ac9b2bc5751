// tokenizers/tokenizer.h: the one tokenizer interface of Eidetic and the loader that picks the
// implementation from the files given. Two kinds exist: byte-level BPE (GPT-2, GPT-NeoX-20B /
// Pythia), equal to Hugging Face `tokenizers` on encode and decode, and the llama2.c tokenizer
// (tokenizer.bin), equal to llama2.c's run.c. No libtorch here: ids are plain int64 vectors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eidetic::tok {

// Token ids at or above this are refused when a vocabulary is read: every table indexed by id
// stays small, and the largest real vocabularies (about 262,000 tokens) are far below it.
inline constexpr int64_t kMaxTokenId = int64_t{1} << 22;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Encodes UTF-8 text. No special tokens are added (no BOS/EOS), but added tokens that appear
  // in the text (e.g. "<|endoftext|>", NeoX's runs of spaces) are recognized as HF does.
  // Invalid UTF-8 throws eidetic::Error with the byte offset of the first bad sequence.
  virtual std::vector<int64_t> encode(std::string_view text) const = 0;

  // Decodes ids to text: for BPE exactly HF's decode(ids, skip_special_tokens=False) (invalid
  // UTF-8 from byte-level pieces becomes U+FFFD); for llama2.c what run.c prints. An id outside
  // the vocabulary throws eidetic::Error naming the id and the vocabulary size.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;

  // Largest id + 1, added tokens included.
  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int64_t> bos_id() const = 0;
  virtual std::optional<int64_t> eos_id() const = 0;
  // "bpe", "spm" (a GGUF file's SentencePiece vocabulary) or "llama2c".
  virtual std::string kind() const = 0;
};

// Loads a tokenizer. `path` may be:
// - a tokenizer.json file (HF `tokenizers` format; model BPE, pre-tokenizer ByteLevel);
// - an encoder.json (with vocab.bpe beside it) or a vocab.json (with merges.txt beside it):
//   byte-level BPE as GPT-2's, with "<|endoftext|>" as a special added token when in the vocab;
// - a GGUF model file (.gguf): the tokenizer in its metadata (tokenizers/gguf_tokenizer.h);
// - a llama2.c tokenizer .bin; the file does not store the number of pieces, so
//   `llama2c_vocab_size` gives it (0: read pieces until the end of the file);
// - a folder holding one of tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe,
//   tokenizer.bin (looked for in that order).
// Missing files, malformed JSON, unsupported tokenizer.json components and truncated .bin files
// throw eidetic::Error naming the file and the problem.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path,
                                          int64_t llama2c_vocab_size = 0);

}  // namespace eidetic::tok
