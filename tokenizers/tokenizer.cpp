// tokenizers/tokenizer.cpp: load_tokenizer(), which decides from the path what kind of
// tokenizer files it was given and hands them to the byte-level BPE or llama2.c reader.
#include "tokenizers/tokenizer.h"

#include <system_error>

#include "common/error.h"
#include "common/gguf_file.h"
#include "tokenizers/byte_level_bpe.h"
#include "tokenizers/gguf_tokenizer.h"
#include "tokenizers/llama2c.h"

namespace eidetic::tok {
namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::unique_ptr<Tokenizer> load_pair(const fs::path& vocab, const fs::path& merges) {
  if (!is_file(merges))
    throw Error(vocab.string() + ": the merges file " + merges.filename().string() + " is missing beside it (" +
                merges.string() + ")");
  return make_byte_level_bpe(read_vocab_and_merges(vocab, merges));
}

std::unique_ptr<Tokenizer> load_file(const fs::path& path, int64_t llama2c_vocab_size) {
  const std::string name = path.filename().string();
  const std::string ext = path.extension().string();
  if (name == "encoder.json") return load_pair(path, path.parent_path() / "vocab.bpe");
  if (name == "vocab.json") return load_pair(path, path.parent_path() / "merges.txt");
  if (ext == ".json") return make_byte_level_bpe(read_tokenizer_json(path));
  if (gguf::is_gguf(path)) return load_gguf_tokenizer(path);
  if (ext == ".bin") return load_llama2c_tokenizer(path, llama2c_vocab_size);
  throw Error(path.string() +
              ": not a known tokenizer file (expected tokenizer.json, encoder.json, vocab.json, a llama2.c .bin or a "
              ".gguf model)");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path, int64_t llama2c_vocab_size) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (is_file(path / "tokenizer.json")) return load_file(path / "tokenizer.json", llama2c_vocab_size);
    if (is_file(path / "vocab.json") && is_file(path / "merges.txt"))
      return load_pair(path / "vocab.json", path / "merges.txt");
    if (is_file(path / "encoder.json") && is_file(path / "vocab.bpe"))
      return load_pair(path / "encoder.json", path / "vocab.bpe");
    if (is_file(path / "tokenizer.bin")) return load_llama2c_tokenizer(path / "tokenizer.bin", llama2c_vocab_size);
    throw Error(path.string() +
                ": no tokenizer in this folder (looked for tokenizer.json, vocab.json + merges.txt, "
                "encoder.json + vocab.bpe, tokenizer.bin)");
  }
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file or folder");
  return load_file(path, llama2c_vocab_size);
}

}  // namespace eidetic::tok
