// fuzz/gguf_fuzz.cpp: the GGUF container parser on arbitrary bytes, then the tokenizer reader on
// what it accepts. An accepted file must describe tensors that lie inside it, each at an
// aligned offset past the metadata, with byte counts its type's blocks explain.
#include <cstdlib>

#include "common/gguf_file.h"
#include "fuzz_util.h"
#include "tokenizers/gguf_tokenizer.h"
#include "tokenizers/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eidetic::fuzz::expect_clean([&] {
    const auto f = eidetic::gguf::File::parse(data, size, "fuzz.gguf");
    if (f.alignment() == 0 || f.data_offset() % f.alignment() != 0) std::abort();
    for (const auto& t : f.tensors()) {
      const auto* layout = eidetic::gguf::type_layout(t.type);
      if (!layout || t.offset % f.alignment() != 0) std::abort();
      if (f.data_offset() > size || t.offset > size - f.data_offset() || t.bytes > size - f.data_offset() - t.offset)
        std::abort();
      if (static_cast<uint64_t>(t.elements / layout->block_elems * layout->block_bytes) != t.bytes) std::abort();
    }
    if (f.find("tokenizer.ggml.model")) {
      const auto tok = eidetic::tok::gguf_tokenizer(f);
      const auto ids = tok->encode("Hello 123 world");
      for (int64_t id : ids)
        if (id < 0 || id >= tok->vocab_size()) std::abort();
      tok->decode(ids);
    }
  });
  return 0;
}
