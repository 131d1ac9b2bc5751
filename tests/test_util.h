// tests/test_util.h: helpers shared by the suites.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#if EIDETIC_WITH_CUDA
#include <ATen/Context.h>
#endif

namespace eidetic::testing {

// True when this build has CUDA kernels and a CUDA device is usable.
inline bool gpu_available() {
#if EIDETIC_WITH_CUDA
  return at::hasCUDA();
#else
  return false;
#endif
}

// The folder of real assets (models, tokenizers, corpora): $EIDETIC_ASSETS, else
// ../shared/assets beside the source tree. Empty when absent.
inline std::filesystem::path assets_dir() {
  if (const char* env = std::getenv("EIDETIC_ASSETS"); env && *env) {
    std::filesystem::path p(env);
    return std::filesystem::is_directory(p) ? p : std::filesystem::path();
  }
  const char* src = std::getenv("EIDETIC_SOURCE_DIR");
  std::filesystem::path root = src ? std::filesystem::path(src) : std::filesystem::current_path();
  std::filesystem::path p = root / ".." / "shared" / "assets";
  return std::filesystem::is_directory(p) ? std::filesystem::canonical(p) : std::filesystem::path();
}

}  // namespace eidetic::testing

// Skips the current test, with a message, when no GPU can run it.
#define EIDETIC_REQUIRE_GPU()                                                      \
  do {                                                                             \
    if (!::eidetic::testing::gpu_available())                                      \
      GTEST_SKIP() << (EIDETIC_WITH_CUDA ? "no CUDA device is present"             \
                                         : "this build has no CUDA kernels");      \
  } while (0)

// Skips the current test, with a message, when the real assets folder is absent.
#define EIDETIC_REQUIRE_ASSETS(dir_var)                                                   \
  const std::filesystem::path dir_var = ::eidetic::testing::assets_dir();                \
  if (dir_var.empty())                                                                    \
  GTEST_SKIP() << "assets folder not found: set EIDETIC_ASSETS or provide ../shared/assets"
