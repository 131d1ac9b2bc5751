// bench/kernels_bench.cpp: throughput of the kernels and their CPU twins.
//
// Both kernels are bound by memory traffic, so each benchmark reports bytes/s: the bytes the
// kernel must read and write at least once (argmax: B*V logits in, B indices out; matching:
// two (B, N) id arrays in, B lengths and flags out). On a GPU, time comes from CUDA events
// around each launch (manual time) and the buffers rotate among several copies so that
// repeated runs do not measure the L2 cache. Compare the GB/s with the card's copy bandwidth.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/argmax.h"
#include "kernels/common.h"
#include "kernels/match.h"

#if EIDETIC_WITH_CUDA
#include <cuda_runtime.h>  // the typed cudaMalloc<T> overloads

#include "kernels/cuda_check.h"
#endif

namespace {

using eidetic::kernels::FloatKind;

size_t element_size(FloatKind kind) { return kind == FloatKind::f32 ? 4 : 2; }

std::vector<uint8_t> random_logits(FloatKind kind, int64_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 4.f);
  std::vector<uint8_t> bytes(count * element_size(kind));
  for (int64_t i = 0; i < count; ++i) {
    const float x = normal(rng);
    if (kind == FloatKind::f32) {
      std::memcpy(bytes.data() + 4 * i, &x, 4);
    } else {
      const uint16_t h = kind == FloatKind::f16 ? eidetic::kernels::float_to_half_bits(x)
                                                : eidetic::kernels::float_to_bf16_bits(x);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  }
  return bytes;
}

void random_matches(int64_t B, int64_t N, std::vector<int64_t>& g, std::vector<int64_t>& t) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int64_t> id(0, 50256);
  g.resize(B * N);
  t.resize(B * N);
  for (int64_t i = 0; i < B * N; ++i) g[i] = t[i] = id(rng);
  // Most rows match in full (the worst case: every element is read).
  for (int64_t b = 0; b < B; b += 8) g[b * N + N / 2] = -1;
}

void BM_ArgmaxCpu(benchmark::State& state, FloatKind kind) {
  const int64_t B = state.range(0), V = state.range(1);
  const auto logits = random_logits(kind, B * V, 1);
  std::vector<int64_t> out(B);
  for (auto _ : state) {
    eidetic::kernels::argmax_rows_cpu(logits.data(), kind, B, V, V, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * (B * V * element_size(kind) + B * 8));
}

void BM_MatchCpu(benchmark::State& state) {
  const int64_t B = state.range(0), N = state.range(1);
  std::vector<int64_t> g, t, lcp(B);
  random_matches(B, N, g, t);
  std::vector<char> exact(B);
  for (auto _ : state) {
    eidetic::kernels::match_tokens_cpu(g.data(), N, t.data(), N, B, N, lcp.data(),
                                       reinterpret_cast<bool*>(exact.data()));
    benchmark::DoNotOptimize(lcp.data());
  }
  state.SetBytesProcessed(state.iterations() * (2 * B * N * 8 + B * 9));
}

#if EIDETIC_WITH_CUDA
constexpr int kRotations = 4;  // distinct input buffers, so timings are not L2 hits

// Times `launch(i)` with CUDA events, one event pair per iteration, i rotating over copies.
template <typename Launch>
void time_with_events(benchmark::State& state, Launch launch) {
  cudaEvent_t start, stop;
  EIDETIC_CUDA_CHECK(cudaEventCreate(&start));
  EIDETIC_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i) launch(i % kRotations);  // warm-up
  EIDETIC_CUDA_CHECK(cudaDeviceSynchronize());
  int i = 0;
  for (auto _ : state) {
    EIDETIC_CUDA_CHECK(cudaEventRecord(start));
    launch(i++ % kRotations);
    EIDETIC_CUDA_CHECK(cudaEventRecord(stop));
    EIDETIC_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.f;
    EIDETIC_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  EIDETIC_CUDA_CHECK(cudaEventDestroy(start));
  EIDETIC_CUDA_CHECK(cudaEventDestroy(stop));
}

void BM_ArgmaxCuda(benchmark::State& state, FloatKind kind) {
  const int64_t B = state.range(0), V = state.range(1);
  const size_t bytes = B * V * element_size(kind);
  const auto host = random_logits(kind, B * V, 2);
  void* logits[kRotations];
  int64_t* out = nullptr;
  for (auto& p : logits) {
    EIDETIC_CUDA_CHECK(cudaMalloc(&p, bytes));
    EIDETIC_CUDA_CHECK(cudaMemcpy(p, host.data(), bytes, cudaMemcpyHostToDevice));
  }
  EIDETIC_CUDA_CHECK(cudaMalloc(&out, B * sizeof(int64_t)));
  time_with_events(state, [&](int i) {
    eidetic::kernels::argmax_rows(logits[i], kind, B, V, V, out, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * (bytes + B * 8));
  for (auto& p : logits) EIDETIC_CUDA_CHECK(cudaFree(p));
  EIDETIC_CUDA_CHECK(cudaFree(out));
}

void BM_MatchCuda(benchmark::State& state) {
  const int64_t B = state.range(0), N = state.range(1);
  std::vector<int64_t> g, t;
  random_matches(B, N, g, t);
  const size_t bytes = B * N * sizeof(int64_t);
  int64_t *dg[kRotations], *dt[kRotations], *lcp;
  bool* exact;
  for (int i = 0; i < kRotations; ++i) {
    EIDETIC_CUDA_CHECK(cudaMalloc(&dg[i], bytes));
    EIDETIC_CUDA_CHECK(cudaMalloc(&dt[i], bytes));
    EIDETIC_CUDA_CHECK(cudaMemcpy(dg[i], g.data(), bytes, cudaMemcpyHostToDevice));
    EIDETIC_CUDA_CHECK(cudaMemcpy(dt[i], t.data(), bytes, cudaMemcpyHostToDevice));
  }
  EIDETIC_CUDA_CHECK(cudaMalloc(&lcp, B * sizeof(int64_t)));
  EIDETIC_CUDA_CHECK(cudaMalloc(&exact, B));
  time_with_events(state, [&](int i) {
    eidetic::kernels::match_tokens(dg[i], N, dt[i], N, B, N, lcp, exact, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * (2 * bytes + B * 9));
  for (int i = 0; i < kRotations; ++i) {
    EIDETIC_CUDA_CHECK(cudaFree(dg[i]));
    EIDETIC_CUDA_CHECK(cudaFree(dt[i]));
  }
  EIDETIC_CUDA_CHECK(cudaFree(lcp));
  EIDETIC_CUDA_CHECK(cudaFree(exact));
}

bool cuda_device_present() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}
#endif

void register_all() {
  const std::vector<std::pair<FloatKind, std::string>> kinds = {
      {FloatKind::f32, "f32"}, {FloatKind::f16, "f16"}, {FloatKind::bf16, "bf16"}};
  for (const auto& [kind, name] : kinds) {
    benchmark::RegisterBenchmark(("argmax_cpu/" + name).c_str(), BM_ArgmaxCpu, kind)
        ->Args({64, 50257})
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("match_cpu", BM_MatchCpu)
      ->Args({4096, 50})
      ->Unit(benchmark::kMicrosecond);
#if EIDETIC_WITH_CUDA
  if (cuda_device_present()) {
    for (const auto& [kind, name] : kinds) {
      benchmark::RegisterBenchmark(("argmax_cuda/" + name).c_str(), BM_ArgmaxCuda, kind)
          ->Args({1, 50257})
          ->Args({256, 50257})
          ->Args({1024, 50257})
          ->Args({1024, 128256})
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark("match_cuda", BM_MatchCuda)
        ->Args({1024, 50})
        ->Args({65536, 50})
        ->Args({1 << 20, 64})
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
#endif
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
