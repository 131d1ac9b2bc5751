// tests/test_util.h: helpers shared by the suites.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "common/error.h"

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

// The message of the eidetic::Error that `f()` throws, or "(no eidetic::Error thrown)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no eidetic::Error thrown)";
}

// The whole content of the file at `p` (empty when it cannot be read).
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// GPT-2's printable stand-in for byte `b` in the byte-level BPE alphabet, as UTF-8: the printable
// bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves, the others in order for U+0100
// onwards. Written out here rather than taken from tokenizers/, whose table the tests check.
inline std::string byte_char(int b) {
  int n = 0;
  for (int x = 0; x < 256; ++x) {
    const bool direct = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE);
    const int c = direct ? x : 0x100 + n;
    if (!direct) ++n;
    if (x == b) {  // every code point here is below U+0800: one or two UTF-8 bytes
      if (c < 0x80) return std::string(1, static_cast<char>(c));
      return {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    }
  }
  return {};
}

// A fresh folder under the system temp directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("eidetic_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `bytes` to NAME inside the folder (creating subfolders) and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& bytes) const {
    const std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// True under EIDETIC_STRICT=1 (anything but empty or "0"): a test that would skip fails
// instead. CI sets it for every test that can run without a GPU; bench/gpu/run.sh sets it for
// the `gpu` tests on the GPU machine, where a skip would mean a silently CPU-only build.
inline bool strict() {
  const char* v = std::getenv("EIDETIC_STRICT");
  return v && *v && std::string(v) != "0";
}

}  // namespace eidetic::testing

// Skips the current test with a message, or fails it under EIDETIC_STRICT=1. Use this, never
// GTEST_SKIP directly (a CTest skip also reads as a pass; strict mode exists to catch that).
#define EIDETIC_SKIP(message)                                                                    \
  do {                                                                                           \
    if (::eidetic::testing::strict()) {                                                          \
      FAIL() << "EIDETIC_STRICT=1 and this test would skip: " << message;                        \
    } else {                                                                                     \
      GTEST_SKIP() << message;                                                                   \
    }                                                                                            \
  } while (0)

// Skips the current test, with a message, when no GPU can run it.
#define EIDETIC_REQUIRE_GPU()                                                      \
  do {                                                                             \
    if (!::eidetic::testing::gpu_available())                                      \
      EIDETIC_SKIP((EIDETIC_WITH_CUDA ? "no CUDA device is present"                \
                                      : "this build has no CUDA kernels"));        \
  } while (0)

// Skips the current test, with a message, when the real assets folder is absent.
#define EIDETIC_REQUIRE_ASSETS(dir_var)                                                   \
  const std::filesystem::path dir_var = ::eidetic::testing::assets_dir();                \
  if (dir_var.empty())                                                                    \
  EIDETIC_SKIP("assets folder not found: set EIDETIC_ASSETS or provide ../shared/assets")
