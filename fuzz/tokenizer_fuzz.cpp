// fuzz/tokenizer_fuzz.cpp: the tokenizer formats. The first byte picks one: a tokenizer.json;
// a GPT-2 vocab.json and merges.txt joined by the marker "\nMERGES\n"; a llama2.c tokenizer.bin.
// A tokenizer that loads must encode and decode without failing on valid text, and decode
// must refuse ids outside its vocabulary.
#include <cstdlib>

#include "fuzz_util.h"
#include "tokenizers/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::filesystem::path path;
  switch (data[0] % 3) {
    case 0:
      path = eidetic::fuzz::write_scratch("tokenizer.json", rest);
      break;
    case 1: {
      const auto parts = eidetic::fuzz::split_parts(rest, "\nMERGES\n", 2);
      path = eidetic::fuzz::write_scratch("vocab.json", parts[0]);
      eidetic::fuzz::write_scratch("merges.txt", parts.size() > 1 ? parts[1] : std::string_view());
      break;
    }
    default:
      path = eidetic::fuzz::write_scratch("tokenizer.bin", rest);
  }
  eidetic::fuzz::expect_clean([&] {
    const auto tok = eidetic::tok::load_tokenizer(path);
    if (tok->vocab_size() <= 0 || tok->vocab_size() > eidetic::tok::kMaxTokenId) std::abort();
    // Text the tokenizer may not be able to encode (no byte fallback) may be refused cleanly.
    eidetic::fuzz::expect_clean([&] {
      const auto ids = tok->encode("Hello, world! <|endoftext|> caf\xc3\xa9  12 34\n\tx");
      for (const int64_t id : ids)
        if (id < 0 || id >= tok->vocab_size()) std::abort();
      (void)tok->decode(ids);
    });
    bool refused = false;
    try {
      (void)tok->decode({tok->vocab_size()});
    } catch (const eidetic::Error&) {
      refused = true;
    }
    if (!refused) std::abort();
  });
  return 0;
}
