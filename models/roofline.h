// models/roofline.h: the performance model every benchmark and run report states.
//
// A step's floor is max(bytes it must move / memory bandwidth, FLOPs it must do / matrix rate).
// A decode step moves the weights once (the whole batch shares them) plus each row's KV cache
// (B x context x 2 x layers x kv_dim x element size), and does 2 FLOPs per weight per row plus
// the attention's 4 x context x q_dim per row and layer. Prefill moves the weights once and does
// 2 FLOPs per weight per prompt token. At large batch the KV cache, not the weights, dominates
// the bytes; for small models launch overhead decides, which no roofline captures: measured
// time over the floor says how far from the hardware's limit a run is.
#pragma once

#include <cstdint>
#include <string>

#include "models/config.h"

namespace eidetic::models {

struct Ceilings {
  double bytes_per_second = 0;  // measured device-to-device copy bandwidth (read + write)
  double flops_per_second = 0;  // measured dense matrix rate in the benchmark's dtype
  std::string device;
};

struct Floor {
  double bytes = 0;    // bytes that must move through memory
  double flops = 0;    // floating-point operations that must be done
  double seconds = 0;  // sum over steps of max(bytes / bandwidth, flops / rate)
};

// Measures the device's ceilings: a large device-to-device copy (bytes read + written per
// second) and a large dense matrix product in `dtype` (FLOP/s), each the median of several timed
// repetitions after warm-up. On the CPU the sizes are smaller and the dtype is float32.
Ceilings measure_ceilings(const std::string& device, const std::string& dtype);

// Parameters that take part in matrix products (every projection and the output head).
int64_t matmul_parameters(const ModelConfig& c);

// Generating `new_tokens` for each of B prompts of `prompt` tokens: one prefill, then
// new_tokens - 1 decode steps (the first new token comes from the prefill's logits).
Floor generation_floor(const ModelConfig& c, int64_t element_bytes, int64_t B, int64_t prompt, int64_t new_tokens,
                       const Ceilings& ceilings);

// Teacher-forced scoring of B sequences of T tokens: one forward pass.
Floor scoring_floor(const ModelConfig& c, int64_t element_bytes, int64_t B, int64_t T, const Ceilings& ceilings);

}  // namespace eidetic::models
