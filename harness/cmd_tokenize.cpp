// `eidetic tokenize --tokenizer PATH`: UTF-8 text on stdin to token ids on one line.
#include <iterator>
#include <sstream>
#include <string>

#include "harness/commands.h"
#include "harness/model_files.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::harness {

Action add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string tokenizer;
    int64_t llama2c_vocab = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Read UTF-8 text on stdin and print its token ids on one line (no special tokens added)");
  cmd->add_option("--tokenizer", o->tokenizer,
                  "tokenizer.json, encoder.json (+ vocab.bpe), vocab.json (+ merges.txt), a llama2.c "
                  "tokenizer .bin, a .gguf model (its own tokenizer) or an installed model's name, or a folder "
                  "holding one")
      ->required();
  cmd->add_option("--vocab-size", o->llama2c_vocab,
                  "number of pieces of a llama2.c tokenizer (default: all pieces in the file)");
  return [o](Io& io) {
    const auto tokenizer = tok::load_tokenizer(resolve_model(o->tokenizer), o->llama2c_vocab);
    const std::string text((std::istreambuf_iterator<char>(io.in)), std::istreambuf_iterator<char>());
    const auto ids = tokenizer->encode(text);
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) line += ' ';
      line += std::to_string(ids[i]);
    }
    io.out << line << "\n";
    return 0;
  };
}

}  // namespace eidetic::harness
