// tokenizers/llama2c.h: the tokenizer of llama2.c models (tokenizer.bin: int32
// max_token_length, then per piece float32 score, int32 length, bytes). Encoding and decoding
// follow llama2.c's run.c, so that prompts and outputs match the reference program.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "tokenizers/tokenizer.h"

namespace eidetic::tok {

// Reads `path`; `vocab_size` pieces (0: pieces until the end of the file). Throws
// eidetic::Error naming the file for a missing, truncated or malformed file.
std::unique_ptr<Tokenizer> load_llama2c_tokenizer(const std::filesystem::path& path, int64_t vocab_size);

}  // namespace eidetic::tok
