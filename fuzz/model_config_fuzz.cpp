// fuzz/model_config_fuzz.cpp: a Hugging Face config.json. A config it accepts validates and
// its parameter count does not wrap.
#include <cstdlib>

#include "fuzz_util.h"
#include "models/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = eidetic::fuzz::write_scratch("config.json", {reinterpret_cast<const char*>(data), size});
  eidetic::fuzz::expect_clean([&] {
    const auto config = eidetic::models::parse_hf_config(file);
    if (config.parameter_count() <= 0) std::abort();
  });
  return 0;
}
