// common/read_file.h: reading a whole small file (a config, a tokenizer, a CSV) with its size
// checked first, so that a device (/dev/zero), a folder or a file far larger than its format
// allows gets a one-line error naming the file instead of an allocation that never ends.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace eidetic {

// The bytes of `file`. Throws eidetic::Error naming the file and `what` ("tokenizer",
// "model config", ...) when it is missing, not a regular file, larger than `max_bytes`, or
// cannot be read.
std::string read_file_bounded(const std::filesystem::path& file, std::uintmax_t max_bytes, const std::string& what);

}  // namespace eidetic
