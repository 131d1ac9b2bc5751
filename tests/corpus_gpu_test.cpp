// tests/corpus_gpu_test.cpp: the n-gram kernels held to their CPU twins on fresh random inputs
// (window hashes for odd lengths, n = 1, n = 50 and L < n, with the output poisoned before each
// launch; hash set insert and lookup with duplicates, absent keys and a crowded table), the
// CUDA n-gram set (kernels/ngram_set.h) held to the CPU one with passes of several sizes, and
// the n-gram index on "cuda" answering exactly as on "cpu". They skip when no device is present.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "corpus/ngram_index.h"
#include "kernels/ngram.h"
#include "kernels/ngram_set.h"
#include "test_util.h"

#if EIDETIC_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace eidetic {
namespace {

using Ids = std::vector<int64_t>;

#if EIDETIC_WITH_CUDA
cudaStream_t current_stream() { return at::cuda::getCurrentCUDAStream().stream(); }

// uint64 values travel in int64 tensors (same bits).
at::Tensor to_device(const std::vector<uint64_t>& v) {
  at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::kLong);
  std::copy(v.begin(), v.end(), reinterpret_cast<uint64_t*>(t.mutable_data_ptr<int64_t>()));
  return t.cuda();
}

std::vector<uint64_t> to_host(const at::Tensor& t) {
  const at::Tensor c = t.cpu().contiguous();
  const auto* p = reinterpret_cast<const uint64_t*>(c.const_data_ptr<int64_t>());
  return std::vector<uint64_t>(p, p + c.numel());
}

TEST(NgramGpu, HashKernelEqualsTwin) {
  EIDETIC_REQUIRE_GPU();
  std::mt19937_64 rng(1);
  for (int64_t n : {1, 7, 50, 64}) {
    for (int64_t L : {int64_t{0}, n - 1, n, n + 1, int64_t{31}, int64_t{1001}, int64_t{65537}, int64_t{1000003}}) {
      if (L < 0) continue;
      SCOPED_TRACE("n=" + std::to_string(n) + " L=" + std::to_string(L));
      const at::Tensor host = at::randint(-5, 60000, {L}, at::kLong);
      const int64_t W = std::max<int64_t>(0, L - n + 1);
      std::vector<uint64_t> expected(static_cast<size_t>(W));
      kernels::ngram_hashes_cpu(host.const_data_ptr<int64_t>(), L, n, expected.data());
      const at::Tensor tokens = host.cuda();
      at::Tensor out = at::full({W + 1}, -7, tokens.options());  // poison, one slot past the end
      kernels::ngram_hashes(tokens.const_data_ptr<int64_t>(), L, n,
                            reinterpret_cast<uint64_t*>(out.mutable_data_ptr<int64_t>()), current_stream());
      std::vector<uint64_t> got = to_host(out);
      EXPECT_EQ(got.back(), static_cast<uint64_t>(int64_t{-7}));
      got.pop_back();
      ASSERT_EQ(got, expected);
    }
  }
}

// Device insert, then membership by the device and by the twin over the device's table, all
// equal to the twin's own set.
void check_hashset(int64_t capacity, int64_t distinct, int64_t copies, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> keys;
  for (int64_t i = 0; i < distinct; ++i) keys.push_back(i < 8 ? static_cast<uint64_t>(i) * capacity : rng());
  keys.push_back(1);  // the same key as 0
  std::vector<uint64_t> inserted;
  for (int64_t c = 0; c < copies; ++c) inserted.insert(inserted.end(), keys.begin(), keys.end());
  std::shuffle(inserted.begin(), inserted.end(), rng);

  std::vector<uint64_t> cpu_table(static_cast<size_t>(capacity), 0);
  kernels::hashset_insert_cpu(cpu_table.data(), capacity, inserted.data(), static_cast<int64_t>(inserted.size()));
  at::Tensor table = at::zeros({capacity}, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
  const at::Tensor d_inserted = to_device(inserted);
  kernels::hashset_insert(reinterpret_cast<uint64_t*>(table.mutable_data_ptr<int64_t>()), capacity,
                          reinterpret_cast<const uint64_t*>(d_inserted.const_data_ptr<int64_t>()),
                          static_cast<int64_t>(inserted.size()), current_stream());
  const std::vector<uint64_t> gpu_table = to_host(table);
  std::multiset<uint64_t> cpu_keys, gpu_keys;  // a multiset: a key stored twice would show
  for (uint64_t v : cpu_table)
    if (v) cpu_keys.insert(v);
  for (uint64_t v : gpu_table)
    if (v) gpu_keys.insert(v);
  EXPECT_EQ(gpu_keys, cpu_keys);

  std::vector<uint64_t> queries = keys;
  queries.push_back(0);
  for (int i = 0; i < 5000; ++i) queries.push_back(rng());                     // absent
  for (int64_t i = 8; i < 24; ++i) queries.push_back(static_cast<uint64_t>(i) * capacity);  // absent, home slot 0
  std::shuffle(queries.begin(), queries.end(), rng);
  const int64_t Q = static_cast<int64_t>(queries.size());
  std::unique_ptr<bool[]> expected(new bool[queries.size()]), twin_on_gpu_table(new bool[queries.size()]);
  kernels::hashset_contains_cpu(cpu_table.data(), capacity, queries.data(), Q, expected.get());
  kernels::hashset_contains_cpu(gpu_table.data(), capacity, queries.data(), Q, twin_on_gpu_table.get());
  const at::Tensor d_queries = to_device(queries);
  at::Tensor found = at::ones({Q + 1}, at::TensorOptions().dtype(at::kBool).device(at::kCUDA));  // poison
  found.index_put_({0}, false);
  kernels::hashset_contains(reinterpret_cast<const uint64_t*>(table.const_data_ptr<int64_t>()), capacity,
                            reinterpret_cast<const uint64_t*>(d_queries.const_data_ptr<int64_t>()), Q,
                            found.mutable_data_ptr<bool>() + 1, current_stream());
  const at::Tensor f = found.cpu();
  EXPECT_FALSE(f[0].item<bool>());
  int64_t present = 0;
  for (int64_t i = 0; i < Q; ++i) {
    ASSERT_EQ(f[i + 1].item<bool>(), expected[i]) << queries[static_cast<size_t>(i)];
    ASSERT_EQ(twin_on_gpu_table[i], expected[i]);
    present += expected[i];
  }
  EXPECT_EQ(present, static_cast<int64_t>(keys.size()) + 1);  // every key, and 0 (as 1)
}

TEST(NgramGpu, HashSetAgreesWithTwin) {
  EIDETIC_REQUIRE_GPU();
  check_hashset(1 << 16, 20000, 3, 2);   // a quarter full, duplicates
  check_hashset(1 << 12, 3900, 8, 3);    // crowded: long probe runs, many threads per key
  check_hashset(64, 60, 50, 4);          // tiny: wrap-around and heavy contention
}

// The CUDA set against the CPU one on the same random parts: hashes of every window inside a
// part, and membership of present, absent and 0/1 keys, with passes smaller than n, of a few
// hundred windows, and whole.
TEST(NgramGpu, CudaSetAnswersAsCpuSet) {
  EIDETIC_REQUIRE_GPU();
  std::mt19937_64 rng(12);
  const int device = kernels::current_cuda_device();
  for (int64_t n : {1, 13, 50}) {
    for (int64_t chunk : {int64_t{3}, int64_t{777}, kernels::kNgramDeviceChunk}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " chunk=" + std::to_string(chunk));
      const auto cpu = kernels::make_ngram_set(n);
      const auto gpu = kernels::make_ngram_set(n, device, chunk);
      EXPECT_EQ(gpu->device(), "cuda:" + std::to_string(device));
      Ids tokens;
      Ids starts = {0};
      for (int part = 0; part < 40; ++part) {
        const int64_t len = part % 7 == 0 ? n - 1 : static_cast<int64_t>(rng() % 600);
        for (int64_t i = 0; i < len; ++i) tokens.push_back(static_cast<int64_t>(rng() % 64));  // repeats
        starts.push_back(static_cast<int64_t>(tokens.size()));
      }
      const std::vector<uint64_t> expected = cpu->window_hashes(tokens, starts);
      const std::vector<uint64_t> got = gpu->window_hashes(tokens, starts);
      ASSERT_EQ(got.size(), expected.size());
      std::vector<uint64_t> inside, keys;
      for (size_t d = 0; d + 1 < starts.size(); ++d)
        for (int64_t p = starts[d]; p + n <= starts[d + 1]; ++p) {
          ASSERT_EQ(got[static_cast<size_t>(p)], expected[static_cast<size_t>(p)]) << p;
          inside.push_back(expected[static_cast<size_t>(p)]);
          if (d % 2 == 0) keys.push_back(expected[static_cast<size_t>(p)]);  // half the parts
        }
      keys.push_back(0);
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      cpu->build(keys);
      gpu->build(keys);
      EXPECT_EQ(gpu->capacity(), cpu->capacity());
      std::vector<uint64_t> queries = inside;
      for (int i = 0; i < 3000; ++i) queries.push_back(rng());
      queries.push_back(0);
      queries.push_back(1);
      std::shuffle(queries.begin(), queries.end(), rng);
      const std::vector<uint8_t> want = cpu->contains(queries);
      EXPECT_EQ(gpu->contains(queries), want);
      const int64_t present = std::count(want.begin(), want.end(), uint8_t{1});
      EXPECT_GT(present, 2);
      EXPECT_LE(present, static_cast<int64_t>(queries.size()) - 3000);  // the random keys are absent
    }
  }
}

std::vector<Ids> random_docs(std::mt19937_64& rng, int64_t count, int64_t max_len, int64_t vocab) {
  std::vector<Ids> docs;
  for (int64_t d = 0; d < count; ++d) {
    Ids t(static_cast<size_t>(rng() % static_cast<uint64_t>(max_len + 1)));
    for (auto& v : t) v = static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab));
    docs.push_back(t);
  }
  return docs;
}

TEST(NgramGpu, IndexOnCudaAnswersAsOnCpu) {
  EIDETIC_REQUIRE_GPU();
  std::mt19937_64 rng(9);
  for (int64_t n : {1, 8, 50}) {
    SCOPED_TRACE(n);
    std::vector<Ids> docs = random_docs(rng, 300, 600, n == 1 ? 200000 : 50);  // small vocab: repeats
    const corpus::NgramIndex cpu(docs, n, "cpu");
    const corpus::NgramIndex gpu(docs, n, "cuda");
    EXPECT_EQ(gpu.stats().device.rfind("cuda", 0), 0u);
    EXPECT_EQ(gpu.stats().windows, cpu.stats().windows);
    EXPECT_EQ(gpu.stats().distinct_windows, cpu.stats().distinct_windows);
    std::vector<Ids> queries = random_docs(rng, 200, 300, 50);
    for (int k = 0; k < 100; ++k) {  // pieces of documents, some across a boundary
      const size_t d = rng() % docs.size();
      Ids q = docs[d];
      if (d + 1 < docs.size()) q.insert(q.end(), docs[d + 1].begin(), docs[d + 1].end());
      const size_t a = q.empty() ? 0 : rng() % q.size();
      queries.emplace_back(q.begin() + static_cast<int64_t>(a), q.end());
    }
    const auto expected = cpu.query(queries);
    const auto got = gpu.query(queries);
    ASSERT_EQ(got.size(), expected.size());
    int64_t matched = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].windows, expected[i].windows) << i;
      EXPECT_EQ(got[i].matched, expected[i].matched) << i;
      EXPECT_EQ(got[i].document, expected[i].document) << i;
      EXPECT_EQ(got[i].offset, expected[i].offset) << i;
      matched += got[i].matched;
    }
    EXPECT_GT(matched, 0);
    for (const Ids& q : queries)
      if (static_cast<int64_t>(q.size()) >= n) {
        const Ids w(q.begin(), q.begin() + n);
        EXPECT_EQ(gpu.contains(w), cpu.contains(w));
      }
  }
  // "auto" picks the device.
  const corpus::NgramIndex automatic({{1, 2, 3}}, 2, "auto");
  EXPECT_EQ(automatic.stats().device.rfind("cuda", 0), 0u);
}
#else
TEST(NgramGpu, NeedsCudaKernels) { EIDETIC_REQUIRE_GPU(); }
#endif

}  // namespace
}  // namespace eidetic
