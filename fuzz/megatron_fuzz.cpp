// fuzz/megatron_fuzz.cpp: a Megatron indexed dataset (.idx + .bin). The input is the .idx and
// the .bin joined by the marker "\nBIN\n"; every sequence the index admits is read.
#include <algorithm>
#include <cstdlib>

#include "corpus/megatron.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = eidetic::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, "\nBIN\n", 2);
  eidetic::fuzz::write_scratch("data.idx", parts[0]);
  eidetic::fuzz::write_scratch("data.bin", parts.size() > 1 ? parts[1] : std::string_view());
  eidetic::fuzz::expect_clean([&] {
    const eidetic::corpus::MegatronDataset ds(eidetic::fuzz::scratch_dir() / "data");
    (void)ds.doc_idx();
    (void)ds.total_tokens();
    for (int64_t i = 0; i < std::min<int64_t>(ds.size(), 64); ++i) {
      eidetic::fuzz::expect_clean([&] {
        const auto seq = ds.sequence(i);
        if (static_cast<int64_t>(seq.size()) != ds.length(i)) std::abort();
      });
      eidetic::fuzz::expect_clean([&] { (void)ds.sequence(i, 1, 2); });
    }
  });
  return 0;
}
