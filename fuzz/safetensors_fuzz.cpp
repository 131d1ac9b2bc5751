// fuzz/safetensors_fuzz.cpp: the safetensors header parser on arbitrary bytes. A header it
// accepts must describe tensors that lie inside the data and tile it.
#include <cstdlib>

#include "fuzz_util.h"
#include "models/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eidetic::fuzz::expect_clean([&] {
    const auto header = eidetic::models::parse_safetensors_header(data, size, "fuzz.safetensors");
    uint64_t covered = 0;
    for (const auto& t : header.tensors) covered += t.end - t.begin;
    if (header.data_start > size || covered != size - header.data_start) std::abort();
  });
  return 0;
}
