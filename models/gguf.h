// models/gguf.h: GGUF model files (llama.cpp's format) as checkpoints of the one decoder.
//
// The architecture (`general.architecture`: llama, qwen2, gpt2 or gptneox) and its sizes are
// read from the metadata into a ModelConfig; every tensor is dequantized (kernels/dequant.h:
// the CUDA kernel on a CUDA device, its CPU twin otherwise) and brought to the Hugging Face
// name and layout of its family, so that build_model and the family tables (models/families.h)
// do the rest, as for a safetensors folder:
//   llama   the query and key rows of each head are permuted back from llama.cpp's
//           interleaved rotary pairs to Hugging Face's halves (convert_hf_to_gguf.py's
//           permute, inverted); no `output.weight` means the head is tied to the embedding
//   qwen2   llama's names, rotary halves already (no permutation), q/k/v biases
//   gpt2    the Linear [out, in] matrices transposed back to GPT-2's Conv1D [in, out]
//   gptneox the fused [Q; K; V] rows re-interleaved per head as NeoX stores them
// Errors name the file and the GGUF key or tensor.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>

#include "models/config.h"
#include "models/safetensors.h"

namespace eidetic::models {

struct GgufCheckpoint {
  ModelConfig config;
  TensorSet tensors;  // Hugging Face names, on `device` in `dtype`
};

GgufCheckpoint read_gguf_checkpoint(const std::filesystem::path& file, at::Device device, at::ScalarType dtype);

}  // namespace eidetic::models
