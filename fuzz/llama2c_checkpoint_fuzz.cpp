// fuzz/llama2c_checkpoint_fuzz.cpp: the llama2.c checkpoint header on arbitrary bytes (the file
// size is the input's size). A header it accepts must give a config that validates and a size
// the input holds.
#include <cstdlib>

#include "fuzz_util.h"
#include "models/llama2c_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eidetic::fuzz::expect_clean([&] {
    const auto layout = eidetic::models::parse_llama2c_header(data, size, size, "fuzz.bin");
    layout.config.validate("fuzz.bin");
    if (layout.expected_bytes > size || layout.config.parameter_count() <= 0) std::abort();
  });
  return 0;
}
