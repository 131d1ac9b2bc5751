// kernels/rng.h: the counter-based random numbers every sampler draws from.
//
// A draw is a pure function of (seed, stream, step, index): no state advances, so a sample
// depends only on the run's seed, which sequence it belongs to (the stream: prompt and sample
// number, not its place in a batch), the decoding step and the vocabulary index. Batch sizes,
// batch order, CUDA graphs and CPU-versus-GPU cannot change what is drawn. The mixing function
// is SplitMix64's finalizer applied in a chain; the result keeps 24 bits so that the uniform
// value (k + 0.5) / 2^24 is exact in float on every device.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define EIDETIC_HD __host__ __device__ __forceinline__
#else
#define EIDETIC_HD inline
#endif

namespace eidetic::kernels {

EIDETIC_HD uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// 64 random bits for (seed, stream, step, index).
EIDETIC_HD uint64_t random_bits(uint64_t seed, uint64_t stream, uint64_t step, uint64_t index) {
  return mix64(mix64(mix64(mix64(seed) ^ stream) ^ step) ^ index);
}

// A uniform draw in (0, 1), never 0 or 1: (k + 0.5) / 2^24 for a 24-bit k.
EIDETIC_HD float uniform_open01(uint64_t bits) {
  return (static_cast<float>(bits >> 40) + 0.5f) * (1.0f / 16777216.0f);
}

}  // namespace eidetic::kernels
