// tokenizers/gguf_tokenizer.cpp: see gguf_tokenizer.h.
#include "tokenizers/gguf_tokenizer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/error.h"
#include "common/gguf_file.h"
#include "tokenizers/byte_level_bpe.h"
#include "tokenizers/llama2c.h"

namespace eidetic::tok {
namespace {

// tokenizer.ggml.token_type values (gguf-py's TokenType).
constexpr int kControl = 3;
constexpr int kUserDefined = 4;

struct PreFamily {
  PreTokenizer pre;
  std::vector<const char*> names;  // llama.cpp's `tokenizer.ggml.pre` values of the family
};

const std::vector<PreFamily>& pre_families() {
  static const std::vector<PreFamily> families = {
      {PreTokenizer::gpt2, {"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "mellum"}},
      {PreTokenizer::digits_gpt2, {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"}},
      {PreTokenizer::llama3, {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"}},
      {PreTokenizer::qwen2, {"qwen2", "deepseek-r1-qwen", "stablelm2"}},
  };
  return families;
}

// The byte-level BPE tokenizer with the file's BOS and EOS (the BPE reader otherwise guesses
// them from the usual special-token names).
class GgufBpe final : public Tokenizer {
 public:
  GgufBpe(std::unique_ptr<Tokenizer> bpe, std::optional<int64_t> bos, std::optional<int64_t> eos)
      : bpe_(std::move(bpe)), bos_(bos), eos_(eos) {}
  std::vector<int64_t> encode(std::string_view text) const override { return bpe_->encode(text); }
  std::string decode(const std::vector<int64_t>& ids) const override { return bpe_->decode(ids); }
  int64_t vocab_size() const override { return bpe_->vocab_size(); }
  std::optional<int64_t> bos_id() const override { return bos_; }
  std::optional<int64_t> eos_id() const override { return eos_; }
  std::string kind() const override { return "bpe"; }

 private:
  std::unique_ptr<Tokenizer> bpe_;
  std::optional<int64_t> bos_, eos_;
};

// `tokenizer.ggml.token_type`'s first n entries (nullopt: the key is absent), each an integer
// in int32's range as llama.cpp reads them.
std::optional<std::vector<int>> token_types(const gguf::File& f, size_t n) {
  const std::vector<double>* types = f.optional_numbers("tokenizer.ggml.token_type");
  if (!types) return std::nullopt;
  if (types->size() < n)
    f.fail_key("tokenizer.ggml.token_type", "has " + std::to_string(types->size()) + " entries for " + std::to_string(n) +
                                                " tokens");
  std::vector<int> out(n);
  for (size_t id = 0; id < n; ++id) {
    const double t = (*types)[id];
    if (!(t >= INT32_MIN && t <= INT32_MAX) || t != static_cast<double>(static_cast<int64_t>(t)))
      f.fail_key("tokenizer.ggml.token_type", "entry " + std::to_string(id) + " is not a token type (an int32)");
    out[id] = static_cast<int>(t);
  }
  return out;
}

// A special id the file names, when it is inside the vocabulary (llama.cpp ignores others).
std::optional<int64_t> special_id(const gguf::File& f, const std::string& key, size_t n_tokens) {
  auto id = f.optional_integer(key, UINT32_MAX);
  if (!id || *id >= n_tokens) return std::nullopt;
  return static_cast<int64_t>(*id);
}

std::unique_ptr<Tokenizer> gpt2_bpe(const gguf::File& f) {
  const std::vector<std::string>& tokens = f.strings("tokenizer.ggml.tokens");
  if (tokens.empty()) f.fail_key("tokenizer.ggml.tokens", "is empty");
  if (static_cast<int64_t>(tokens.size()) > kMaxTokenId)
    f.fail_key("tokenizer.ggml.tokens", "has " + std::to_string(tokens.size()) + " tokens, more than the " +
                                            std::to_string(kMaxTokenId) + " Eidetic reads");
  const auto types = token_types(f, tokens.size());

  BpeSpec spec;
  spec.source = f.name();
  std::unordered_set<std::string> seen;
  spec.vocab.reserve(tokens.size());
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (!seen.insert(tokens[id]).second)
      f.fail_key("tokenizer.ggml.tokens", "holds the token '" + tokens[id].substr(0, 40) + "' twice (id " +
                                              std::to_string(id) + ")");
    const int type = types ? (*types)[id] : 1;
    if (type == kControl || type == kUserDefined) {
      AddedTokenSpec a;
      a.content = tokens[id];
      a.special = type == kControl;
      a.normalized = type != kControl;
      spec.added_tokens.push_back(a);
    }
    spec.vocab.emplace_back(tokens[id], static_cast<int64_t>(id));
  }
  if (f.find("tokenizer.ggml.merges")) {
    const std::vector<std::string>& merges = f.strings("tokenizer.ggml.merges");
    spec.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      // llama.cpp splits at the first space after the first character: a merge's left part
      // may itself start with a space-like symbol but is never empty.
      const size_t cut = merges[i].size() > 1 ? merges[i].find(' ', 1) : std::string::npos;
      if (cut == std::string::npos || cut + 1 >= merges[i].size())
        f.fail_key("tokenizer.ggml.merges", "entry " + std::to_string(i) + " is not 'left right'");
      spec.merges.emplace_back(merges[i].substr(0, cut), merges[i].substr(cut + 1));
    }
  }

  const auto pre = f.optional_string("tokenizer.ggml.pre");
  spec.pre = PreTokenizer::gpt2;
  if (pre && *pre != "default") {
    bool found = false;
    std::string known;
    for (const PreFamily& family : pre_families())
      for (const char* name : family.names) {
        known += (known.empty() ? "" : ", ") + std::string(name);
        if (*pre == name) {
          spec.pre = family.pre;
          found = true;
        }
      }
    if (!found) f.fail_key("tokenizer.ggml.pre", "names the pre-tokenizer '" + *pre + "', which Eidetic does not know (known: " + known + ")");
  }
  // A byte whose symbol the vocabulary lacks (SmolLM2 has none for 0x04, 0xf1, ...) becomes the
  // unknown token, runs of them one, as transformers' GGUF conversion builds the model
  // (BPE(unk_token=..., fuse_unk=True, byte_fallback=True)); llama.cpp has no rule for it.
  if (auto unk = special_id(f, "tokenizer.ggml.unknown_token_id", tokens.size())) {
    spec.unk_token = tokens[static_cast<size_t>(*unk)];
    spec.fuse_unk = true;
    spec.byte_fallback = true;
  }
  spec.ignore_merges = spec.pre == PreTokenizer::llama3;
  spec.nfc = spec.pre == PreTokenizer::qwen2;
  const size_t n = tokens.size();
  auto bos = special_id(f, "tokenizer.ggml.bos_token_id", n);
  auto eos = special_id(f, "tokenizer.ggml.eos_token_id", n);
  return std::make_unique<GgufBpe>(make_byte_level_bpe(std::move(spec)), bos, eos);
}

// SentencePiece ("llama"): the pieces, their scores and types go to tokenizers/llama2c.h's
// make_spm_tokenizer, which builds what transformers builds from them.
std::unique_ptr<Tokenizer> spm(const gguf::File& f) {
  SpmSpec spec;
  spec.source = f.name();
  spec.pieces = f.strings("tokenizer.ggml.tokens");
  const size_t n = spec.pieces.size();
  if (n == 0) f.fail_key("tokenizer.ggml.tokens", "is empty");
  if (static_cast<int64_t>(n) > kMaxTokenId)
    f.fail_key("tokenizer.ggml.tokens", "has " + std::to_string(n) + " tokens, more than the " +
                                            std::to_string(kMaxTokenId) + " Eidetic reads");
  std::unordered_set<std::string> seen;
  for (size_t id = 0; id < n; ++id)
    if (!seen.insert(spec.pieces[id]).second)
      f.fail_key("tokenizer.ggml.tokens", "holds the token '" + spec.pieces[id].substr(0, 40) + "' twice (id " +
                                              std::to_string(id) + ")");
  const std::vector<double>* scores = f.optional_numbers("tokenizer.ggml.scores");
  if (!scores)
    f.fail_key("tokenizer.ggml.scores", "is missing: a 'llama' (SentencePiece) tokenizer needs one score per token");
  if (scores->size() < n)
    f.fail_key("tokenizer.ggml.scores", "has " + std::to_string(scores->size()) + " entries for " + std::to_string(n) + " tokens");
  for (size_t id = 0; id < n; ++id) {
    const double x = (*scores)[id];
    if (x != x) f.fail_key("tokenizer.ggml.scores", "entry " + std::to_string(id) + " is NaN");
    spec.scores.push_back(x);
  }
  if (auto types = token_types(f, n)) spec.types = std::move(*types);
  spec.add_space_prefix = f.optional_flag("tokenizer.ggml.add_space_prefix").value_or(true);
  // llama.cpp adds BOS by default for SentencePiece; encode() never does (callers add bos_id()),
  // so the flag is only checked to be a bool.
  f.optional_flag("tokenizer.ggml.add_bos_token");
  spec.unk = special_id(f, "tokenizer.ggml.unknown_token_id", n);
  spec.bos = special_id(f, "tokenizer.ggml.bos_token_id", n);
  spec.eos = special_id(f, "tokenizer.ggml.eos_token_id", n);
  return make_spm_tokenizer(std::move(spec));
}

}  // namespace

std::unique_ptr<Tokenizer> gguf_tokenizer(const gguf::File& f) {
  const auto model = f.optional_string("tokenizer.ggml.model");
  if (!model) f.fail_key("tokenizer.ggml.model", "is missing: the file carries no tokenizer; pass --tokenizer PATH");
  if (*model == "gpt2") return gpt2_bpe(f);
  if (*model == "llama") return spm(f);
  f.fail_key("tokenizer.ggml.model", "is '" + *model + "'; Eidetic reads GGUF tokenizers of type 'gpt2' (byte-level BPE) and 'llama' (SentencePiece)");
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& path) {
  return gguf_tokenizer(gguf::File::open(path));
}

}  // namespace eidetic::tok
