// fuzz/npy_fuzz.cpp: the .npy reader (header, then an integer array read as token ids).
#include <cstdlib>

#include "corpus/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = eidetic::fuzz::write_scratch("input.npy", {reinterpret_cast<const char*>(data), size});
  eidetic::fuzz::expect_clean([&] {
    const auto header = eidetic::corpus::read_npy_header(file);
    if (header.data_offset > size) std::abort();
  });
  eidetic::fuzz::expect_clean([&] {
    const auto tokens = eidetic::corpus::read_npy_tokens(file);
    int64_t numel = 1;
    for (const int64_t d : tokens.shape) numel *= d;
    if (numel != static_cast<int64_t>(tokens.values.size())) std::abort();
  });
  return 0;
}
