// harness/model_files.cpp: see model_files.h.
#include "harness/model_files.h"

#include "common/error.h"

namespace eidetic::harness {

bool is_llama2c_checkpoint(const std::filesystem::path& model) {
  return std::filesystem::is_regular_file(model) && model.extension() != ".safetensors";
}

std::unique_ptr<tok::Tokenizer> tokenizer_for_model(const std::filesystem::path& model,
                                                    const std::optional<std::filesystem::path>& explicit_path,
                                                    int64_t vocab_size) {
  const bool llama2c = is_llama2c_checkpoint(model);
  if (explicit_path) return tok::load_tokenizer(*explicit_path, llama2c ? vocab_size : 0);
  const auto folder = std::filesystem::is_directory(model) ? model : model.parent_path();
  if (llama2c) {
    const auto beside = folder / "tokenizer.bin";
    if (std::filesystem::exists(beside)) return tok::load_tokenizer(beside, vocab_size);
    throw Error(model.string() + ": a llama2.c checkpoint needs its tokenizer: pass --tokenizer PATH (e.g. tok512.bin)");
  }
  for (const char* name : {"tokenizer.json", "vocab.json", "encoder.json"})
    if (std::filesystem::exists(folder / name)) return tok::load_tokenizer(folder);
  throw Error(folder.string() + ": no tokenizer.json, vocab.json or encoder.json beside the model: pass --tokenizer PATH");
}

}  // namespace eidetic::harness
