// models/presets.h: named architectures with random weights, for benchmarks.
//
// gpt2-124m, pythia-160m, pythia-410m, pythia-1.4b (and `gpt2-tiny`, GPT-2's vocabulary with a tiny
// body, and `test-tiny`, for CPU smoke runs)
// with the real shapes of the published models and weights drawn from N(0, 0.02) directly on
// the device, so that throughput can be measured without downloading checkpoints.
#pragma once

#include <string>
#include <vector>

#include "models/model.h"

namespace eidetic::models {

// The architecture named `name`; throws eidetic::Error listing the names when unknown.
ModelConfig preset_config(const std::string& name);
std::vector<std::string> preset_names();

// A model of `config` with random weights (seeded), created on `device` in `dtype`.
Model random_model(const ModelConfig& config, at::Device device, at::ScalarType dtype, uint64_t seed = 0);

}  // namespace eidetic::models
