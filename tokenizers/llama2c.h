// tokenizers/llama2c.h: the tokenizer of llama2.c models (tokenizer.bin: int32
// max_token_length, then per piece float32 score, int32 length, bytes). Encoding and decoding
// follow llama2.c's run.c, so that prompts and outputs match the reference program.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizers/tokenizer.h"

namespace eidetic::tok {

// Reads `path`; `vocab_size` pieces (0: pieces until the end of the file). Throws
// eidetic::Error naming the file for a missing, truncated or malformed file.
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::filesystem::path& path, int64_t vocab_size);

// A SentencePiece vocabulary as GGUF files carry it (tokenizer.ggml.model "llama"): pieces with
// U+2581 for spaces and byte pieces "<0xXX>", one score per piece, token types as gguf-py's
// TokenType (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
struct SpmSpec {
  std::string source;               // file named in error messages
  std::vector<std::string> pieces;  // index = id; distinct, valid UTF-8
  std::vector<double> scores;       // one per piece, no NaN
  std::vector<int> types;           // one per piece, or empty: all normal
  std::optional<int64_t> unk, bos, eos;
  bool add_space_prefix = true;
};

// The tokenizer transformers builds from such a vocabulary (GGUFLlamaConverter): BPE over code
// points with merges ranked by the score of the merged piece, byte fallback, "▁" prepended and
// spaces replaced by "▁"; control tokens, the unknown and the BOS token split out of the text as
// special tokens. See llama2c.cpp for the rules and where llama.cpp differs. Throws
// eidetic::Error when the spec breaks the conditions above.
std::unique_ptr<Tokenizer> make_spm_tokenizer(SpmSpec spec);

}  // namespace eidetic::tok
