// attacks/engine_calls.cpp: see engine_calls.h.
#include "attacks/engine_calls.h"

#include <c10/core/ScalarType.h>

#include <algorithm>

namespace eidetic::attacks {

std::vector<models::Generated> generate(Context& ctx, const std::vector<std::vector<int64_t>>& prompts,
                                        const models::DecodeSpec& spec) {
  models::Engine& engine = *ctx.engine;
  const auto before = engine.stats();
  auto out = engine.generate(prompts, spec);
  const auto& after = engine.stats();
  ctx.profile->add("prefill", after.prefill_seconds - before.prefill_seconds);
  ctx.profile->add("decode", after.decode_seconds - before.decode_seconds);
  ctx.profile->generated_tokens += after.generated_tokens - before.generated_tokens;
  ctx.profile->sequences += static_cast<int64_t>(out.size());
  int64_t longest = 0;
  for (const auto& p : prompts) longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  const auto& model = engine.model();
  const int64_t rows = static_cast<int64_t>(prompts.size()) *
                       (spec.mode == models::DecodeSpec::Mode::sample ? spec.num_samples
                        : spec.mode == models::DecodeSpec::Mode::beam ? spec.beam_width
                                                                       : 1);
  ctx.profile->floor_seconds += models::generation_floor(model.config(), static_cast<int64_t>(c10::elementSize(model.dtype())),
                                                         rows, longest, spec.max_new_tokens, ctx.ceilings)
                                    .seconds;
  return out;
}

std::vector<models::Scored> score(Context& ctx, const std::vector<std::vector<int64_t>>& sequences, bool entropy, bool rank) {
  models::Engine& engine = *ctx.engine;
  const auto before = engine.stats();
  auto out = engine.score(sequences, entropy, rank);
  const auto& after = engine.stats();
  ctx.profile->add("score", after.score_seconds - before.score_seconds);
  ctx.profile->scored_tokens += after.scored_tokens - before.scored_tokens;
  int64_t longest = 0;
  for (const auto& s : sequences) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
  const auto& model = engine.model();
  ctx.profile->floor_seconds += models::scoring_floor(model.config(), static_cast<int64_t>(c10::elementSize(model.dtype())),
                                                      static_cast<int64_t>(sequences.size()), longest, ctx.ceilings)
                                    .seconds;
  return out;
}

int64_t batch_items(const Context& ctx, int64_t tokens, int64_t rows_per_item) {
  const auto& b = ctx.config.at("engine").at("batch_size");
  const int64_t rows = b.is_number_integer() ? b.get<int64_t>() : ctx.engine->auto_batch_rows(tokens);
  return std::max<int64_t>(1, rows / std::max<int64_t>(rows_per_item, 1));
}

}  // namespace eidetic::attacks
