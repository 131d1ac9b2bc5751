// tokenizers/gguf_tokenizer.h: the tokenizer a GGUF file carries in its metadata
// (tokenizer.ggml.*), equal to what transformers builds from the file.
//
// `tokenizer.ggml.model` "gpt2" is byte-level BPE: the token strings (GPT-2's byte-to-unicode
// form), the merges ("left right", rank = index), and the pre-tokenizer named by
// `tokenizer.ggml.pre` as llama.cpp's llama-vocab.cpp maps it:
//   gpt-2 family (gpt-2, gpt2, phi-2, mpt, olmo, jais, mellum)    the GPT-2 regex
//   smollm family (smollm, starcoder, refact, codeshell, ...)       each digit alone, then GPT-2
//   llama3 family (llama3, llama-v3, llama-bpe, falcon3, ...)       Llama 3's split, merges ignored
//                                                                   for whole-vocabulary pieces
//   qwen2 family (qwen2, deepseek-r1-qwen, stablelm2)               NFC, Qwen2's split
// A file without `pre` gets the GPT-2 regex (transformers' reading of such files); any other
// name is an error listing these. Tokens of type CONTROL (3) are special added tokens and
// USER_DEFINED (4) ones plain added tokens, recognized in text as Hugging Face does.
// A byte missing from the vocabulary is the unknown token (`unknown_token_id`), several in a row
// one, as transformers builds it. BOS and EOS are the file's `bos_token_id` and `eos_token_id`.
//
// `tokenizer.ggml.model` "llama" is SentencePiece (Llama 1/2, TinyLlama, Mistral): the pieces
// (U+2581 for spaces, bytes as `<0xXX>`), `tokenizer.ggml.scores` (required, one per token),
// `token_type` (3 CONTROL pieces are special tokens), `add_space_prefix` (default true) and the
// unknown/BOS/EOS ids, built into the tokenizer transformers makes of them (tokenizers/llama2c.h
// make_spm_tokenizer: BPE with merges ranked by score, byte fallback, "▁" prefix; kind "spm";
// where llama.cpp differs is written in llama2c.cpp). `add_bos_token` is checked to be a bool
// but, as for every tokenizer here, encode adds no BOS. Other models ("bert", "t5", ...) are an
// error.
#pragma once

#include <filesystem>
#include <memory>

#include "tokenizers/tokenizer.h"

namespace eidetic::gguf {
class File;
}

namespace eidetic::tok {

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& path);
std::unique_ptr<Tokenizer> gguf_tokenizer(const gguf::File& file);

}  // namespace eidetic::tok
