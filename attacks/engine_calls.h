// attacks/engine_calls.h: the engine calls attacks make, with the run's profile kept: time in
// prefill, decode and scoring, tokens and sequences, and the roofline floor of the work.
#pragma once

#include <vector>

#include "attacks/attack.h"
#include "models/engine.h"

namespace eidetic::attacks {

std::vector<models::Generated> generate(Context& ctx, const std::vector<std::vector<int64_t>>& prompts,
                                        const models::DecodeSpec& spec);

std::vector<models::Scored> score(Context& ctx, const std::vector<std::vector<int64_t>>& sequences, bool entropy = false,
                                  bool rank = false);

// Items per batch: engine.batch_size when set, else what fits for sequences of `tokens`.
int64_t batch_items(const Context& ctx, int64_t tokens, int64_t rows_per_item = 1);

}  // namespace eidetic::attacks
