// models/generate.cpp: see generate.h.
#include "models/generate.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "common/error.h"
#include "kernels/torch_ops.h"

namespace eidetic::models {

Generation generate_greedy(const Model& model, const std::vector<std::vector<int64_t>>& prompts,
                           int64_t max_new_tokens, std::optional<int64_t> stop_token) {
  Generation out;
  out.tokens.resize(prompts.size());
  if (prompts.empty() || max_new_tokens <= 0) return out;
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t T = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) throw Error("prompt " + std::to_string(i) + " is empty; give at least one token");
    T = std::max<int64_t>(T, static_cast<int64_t>(prompts[i].size()));
  }
  // Left-padded ids and mask, built on the CPU then moved once.
  at::Tensor ids = at::zeros({B, T}, at::kLong);
  at::Tensor mask = at::zeros({B, T}, at::kBool);
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[b];
    const int64_t pad = T - static_cast<int64_t>(p.size());
    auto row = ids[b];
    for (size_t j = 0; j < p.size(); ++j) row[pad + static_cast<int64_t>(j)] = p[j];
    mask[b].slice(0, pad).fill_(true);
  }
  KVCache cache = model.new_cache(B, T + max_new_tokens);
  at::Tensor hidden = model.forward(ids, mask, &cache);
  at::Tensor next = ops::argmax_rows(model.logits(hidden.select(1, T - 1)));  // (B)
  std::vector<at::Tensor> steps{next};
  const at::Tensor ones = at::ones({B, 1}, at::TensorOptions().dtype(at::kBool).device(model.device()));
  for (int64_t s = 1; s < max_new_tokens; ++s) {
    hidden = model.forward(next.unsqueeze(1), ones, &cache);
    next = ops::argmax_rows(model.logits(hidden.select(1, 0)));
    steps.push_back(next);
    if (stop_token && s % 16 == 0) {  // stop early once every row has ended (checked now and then)
      const at::Tensor all = at::stack(steps, 1);
      if ((all == *stop_token).any(1).all().item<bool>()) break;
    }
  }
  const at::Tensor all = at::stack(steps, 1).cpu();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* row = all[b].const_data_ptr<int64_t>();
    for (int64_t j = 0; j < all.size(1); ++j) {
      if (stop_token && row[j] == *stop_token) break;
      out.tokens[b].push_back(row[j]);
    }
  }
  return out;
}

at::Tensor score_logprobs(const Model& model, const at::Tensor& ids, int64_t rows_per_batch) {
  if (ids.dim() != 2) throw Error("score: token ids must be 2-D (B, T)");
  const int64_t B = ids.size(0), T = ids.size(1);
  if (T < 2) throw Error("score: sequences need at least 2 tokens, got " + std::to_string(T));
  std::vector<at::Tensor> parts;
  for (int64_t b0 = 0; b0 < B; b0 += rows_per_batch) {
    const at::Tensor chunk = ids.slice(0, b0, std::min(B, b0 + rows_per_batch)).to(model.device());
    const at::Tensor hidden = model.forward(chunk, at::Tensor(), nullptr);
    const at::Tensor logp = at::log_softmax(model.logits(hidden.slice(1, 0, T - 1)), -1);
    parts.push_back(logp.gather(-1, chunk.slice(1, 1).unsqueeze(-1)).squeeze(-1).cpu());
  }
  return parts.empty() ? at::zeros({0, T - 1}) : at::cat(parts, 0);
}

at::Tensor full_logits(const Model& model, const at::Tensor& ids) {
  if (ids.dim() != 2) throw Error("score: token ids must be 2-D (B, T)");
  const at::Tensor hidden = model.forward(ids.to(model.device()), at::Tensor(), nullptr);
  return model.logits(hidden).cpu();
}

}  // namespace eidetic::models
