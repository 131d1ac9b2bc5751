// tests/dequant_tool.cpp: the CPU dequantization (kernels/dequant.h) as a command, for
// tests/gguf_dequant_oracle.py, which holds it bit for bit to the `gguf` package's dequantize.
//
//   eidetic_dequant_tool TYPE_ID IN.bin OUT.f32
//
// IN.bin holds raw ggml blocks of type TYPE_ID (a ggml type id, e.g. 12 for q4_K); OUT.f32
// receives their values as little-endian float32. Exit code 0, or 1 with a one-line message.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/read_file.h"
#include "kernels/dequant.h"

namespace {

int run(int argc, char** argv) {
  using namespace eidetic;
  if (argc != 4) throw Error("usage: eidetic_dequant_tool TYPE_ID IN.bin OUT.f32");
  char* end = nullptr;
  const long id = std::strtol(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0') throw Error(std::string("TYPE_ID: not an integer: '") + argv[1] + "'");
  const kernels::GgmlTypeInfo* info = kernels::ggml_type_info(static_cast<int32_t>(id));
  if (info == nullptr || id != static_cast<int32_t>(id)) {
    const char* name = id == static_cast<int32_t>(id) ? kernels::ggml_type_name(static_cast<int32_t>(id)) : nullptr;
    throw Error(std::string("TYPE_ID: ggml type ") + argv[1] + (name ? std::string(" (") + name + ")" : "") +
                " cannot be dequantized");
  }
  const std::string bytes = read_file_bounded(argv[2], std::uintmax_t{1} << 30, "ggml blocks");
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size % info->block_bytes != 0)
    throw Error(std::string(argv[2]) + ": " + std::to_string(size) + " bytes, not a whole number of " + info->name +
                " blocks of " + std::to_string(info->block_bytes) + " bytes");
  const int64_t n_blocks = size / info->block_bytes;
  std::vector<float> out(static_cast<size_t>(n_blocks * info->block_elems));
  kernels::dequantize_cpu(info->type, reinterpret_cast<const uint8_t*>(bytes.data()), n_blocks, out.data());
  // float32 little-endian: the host's own layout on every platform this project builds for.
  std::vector<unsigned char> le(out.size() * 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &out[i], 4);
    for (int k = 0; k < 4; ++k) le[4 * i + k] = static_cast<unsigned char>(bits >> (8 * k));
  }
  std::ofstream f(argv[3], std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(le.data()), static_cast<std::streamsize>(le.size()));
  f.close();
  if (!f) throw Error(std::string(argv[3]) + ": cannot write the output");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
