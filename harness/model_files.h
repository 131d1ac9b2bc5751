// harness/model_files.h: finding the tokenizer that goes with a model checkpoint.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "tokenizers/tokenizer.h"

namespace eidetic::harness {

// Whether `model` is a llama2.c checkpoint (a file that is not .safetensors).
bool is_llama2c_checkpoint(const std::filesystem::path& model);

// The tokenizer for `model`: `explicit_path` when given, else the tokenizer files in the model
// folder (tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe), else tokenizer.bin
// beside a llama2.c checkpoint. Throws eidetic::Error saying what to pass when none is found.
std::unique_ptr<tok::Tokenizer> tokenizer_for_model(const std::filesystem::path& model,
                                                    const std::optional<std::filesystem::path>& explicit_path,
                                                    int64_t vocab_size);

}  // namespace eidetic::harness
