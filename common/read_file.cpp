// common/read_file.cpp: see read_file.h.
#include "common/read_file.h"

#include <fstream>
#include <iterator>

#include "common/error.h"

namespace eidetic {

std::string read_file_bounded(const std::filesystem::path& file, std::uintmax_t max_bytes, const std::string& what) {
  const std::string name = file.string();
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status)) throw Error(name + ": " + what + " file not found");
  if (!std::filesystem::is_regular_file(status)) throw Error(name + ": not a " + what + " file (a folder or a device)");
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw Error(name + ": cannot read the size of the " + what + " file (" + ec.message() + ")");
  if (size > max_bytes)
    throw Error(name + ": " + std::to_string(size) + " bytes, more than a " + what + " file may have (" +
                std::to_string(max_bytes) + ")");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(name + ": cannot open the " + what + " file");
  std::string text;
  text.resize(static_cast<size_t>(size));
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (in.bad() || static_cast<std::uintmax_t>(in.gcount()) != size) throw Error(name + ": read error in the " + what + " file");
  return text;
}

}  // namespace eidetic
