// models/llama2c_header.h: the llama2.c checkpoint header, parsed and checked without libtorch.
//
// Seven int32 fields (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
// negative vocab_size means the classifier is stored separately), then float32 weights in
// run.c's order. Every field is bounded before any size is computed from it, so no product can
// wrap, and the file must hold every weight the header describes. read_llama2c_checkpoint
// (llama2c.h) reads the weights; fuzz/llama2c_fuzz.cpp feeds this arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "models/config.h"

namespace eidetic::models {

struct Llama2cLayout {
  ModelConfig config;          // a Llama config, Hugging Face conventions
  bool shared_classifier = true;  // false: the classifier follows the other weights
  uint64_t expected_bytes = 0;    // header and every weight
};

constexpr size_t kLlama2cHeaderBytes = 28;

// `header` holds the file's first `header_size` bytes; `file_size` is the whole file's. Throws
// eidetic::Error naming `file` for a short file, an implausible field or a truncated file.
Llama2cLayout parse_llama2c_header(const uint8_t* header, size_t header_size, uint64_t file_size,
                                   const std::string& file);

}  // namespace eidetic::models
