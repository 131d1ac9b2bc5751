// models/generate.h: greedy generation with the static KV cache, and teacher-forced scoring.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "models/model.h"

namespace eidetic::models {

struct Generation {
  std::vector<std::vector<int64_t>> tokens;  // per prompt, the new tokens (stop token excluded)
};

// Greedy continuation of each prompt (prompts of any lengths, each non-empty): prefill of the
// left-padded batch, then one token at a time from the cache. A row ends at max_new_tokens or
// when it produces `stop_token`.
Generation generate_greedy(const Model& model, const std::vector<std::vector<int64_t>>& prompts,
                           int64_t max_new_tokens, std::optional<int64_t> stop_token = std::nullopt);

// Log-probabilities (B, T-1), float32 on the CPU, of tokens 1..T-1 of ids (B, T) given their
// prefixes. Rows are processed `rows_per_batch` at a time to bound memory.
at::Tensor score_logprobs(const Model& model, const at::Tensor& ids, int64_t rows_per_batch = 8);

// Logits (B, T, V), float32 on the CPU.
at::Tensor full_logits(const Model& model, const at::Tensor& ids);

}  // namespace eidetic::models
