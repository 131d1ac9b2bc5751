// fuzz/fuzz_util.h: what every fuzz target shares.
//
// The parsers read files, so each input is written to a scratch folder of this process first.
// A parser may refuse its input only by throwing eidetic::Error (a message naming the file);
// any other exception escaping it is a defect, and so the target aborts on it, as on a
// sanitizer report.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace eidetic::fuzz {

// This process's scratch folder, made on first use and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
                              ("eidetic-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    static const struct Cleanup {
      std::filesystem::path d;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      }
    } cleanup{d};
    return d;
  }();
  return dir;
}

// Writes `bytes` to scratch_dir()/name and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
  const auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

// Splits `data` at each occurrence of `marker` (at most `max_parts` parts).
inline std::vector<std::string_view> split_parts(std::string_view data, std::string_view marker, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = data.find(marker);
    if (at == std::string_view::npos) break;
    parts.push_back(data.substr(0, at));
    data.remove_prefix(at + marker.size());
  }
  parts.push_back(data);
  return parts;
}

// Runs `parse`; eidetic::Error with a message is the one accepted way to refuse. (The CLI
// prints it on one line, escaping any line break quoted from the input.)
template <class F>
void expect_clean(F&& parse) {
  try {
    parse();
  } catch (const eidetic::Error& e) {
    if (std::string_view(e.what()).empty()) {
      std::fprintf(stderr, "fuzz: an eidetic::Error without a message\n");
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: a parser let a non-eidetic exception escape: %s\n", e.what());
    std::abort();
  }
}

}  // namespace eidetic::fuzz
