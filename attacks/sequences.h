// attacks/sequences.h: sets of token sequences named in a config: a 2-D .npy (one row each),
// or text/JSONL files and folders tokenized with the target's tokenizer.
#pragma once

#include <string>
#include <vector>

namespace eidetic::tok {
class Tokenizer;
}

namespace eidetic::attacks {

// `files` are paths. Text documents are truncated to `max_tokens`, or with `chunk` cut into
// consecutive pieces of `max_tokens` (a last, shorter piece is dropped unless it is the whole
// document); ids are checked against `vocab`; `what` names the config key in errors.
std::vector<std::vector<int64_t>> load_sequences(const std::vector<std::string>& files, const tok::Tokenizer* tokenizer,
                                                 int64_t vocab, int64_t max_tokens, const std::string& what,
                                                 bool chunk = false);

}  // namespace eidetic::attacks
