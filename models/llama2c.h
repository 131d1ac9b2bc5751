// models/llama2c.h: the llama2.c checkpoint format (karpathy/llama2.c's run.c reads it).
//
// Seven int32 header fields (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
// seq_len; a negative vocab_size means the classifier is stored separately), then float32
// weights in a fixed order. We read them into Hugging Face Llama names and layout, so the one
// decoder runs them: llama2.c rotates interleaved pairs of each head's dimensions, Hugging
// Face rotates its two halves, so the query and key rows are permuted as HF's conversion does.
#pragma once

#include <filesystem>

#include "models/config.h"
#include "models/safetensors.h"

namespace eidetic::models {

struct Llama2cCheckpoint {
  ModelConfig config;
  TensorSet tensors;  // Hugging Face Llama names
};

// Throws eidetic::Error naming the file when it is truncated or its header is implausible.
Llama2cCheckpoint read_llama2c_checkpoint(const std::filesystem::path& file);

}  // namespace eidetic::models
