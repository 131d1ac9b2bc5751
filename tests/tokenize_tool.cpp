// tests/tokenize_tool.cpp: a small command-line front end to eidetic::tok for the Python
// oracle (tests/tokenizers_oracle.py), which compares it with Hugging Face `tokenizers`.
//
//   eidetic_tokenize_tool encode-file TOKENIZER FILE [--llama2c-vocab-size N] [--repeat K]
//       prints the ids of the whole file on one line; with --repeat, encodes K times and
//       prints the best time in seconds on stderr.
//   eidetic_tokenize_tool batch TOKENIZER [--llama2c-vocab-size N] < request.json
//       request: {"encode": [str], "decode": [[id]], "nfc": [str], "regex_class": [code point],
//                 "numeric": [code point], "encode_files": [path],
//                 "pretokenize": [str], "pre": "gpt2" | "digits_gpt2" | "llama3" | "qwen2"}
//       answer:  {"info": {...}, "encode": [[id] | {"error": msg}], "decode": [hex | {"error": msg}],
//                 "nfc": [str], "regex_class": "0123...", "numeric": "0110...", "encode_files": [[id]],
//                 "pretokenize": [[byte-level piece]]}
//       (decoded bytes as hex: they may be any bytes; "pretokenize" runs the pre-tokenizer "pre"
//       alone, whatever TOKENIZER is)
//   eidetic_tokenize_tool train OUT [--vocab-size N] [--min-frequency F] [--special TOKEN]... < documents.json
//       trains a byte-level BPE tokenizer (tok::train_byte_level_bpe) on a JSON array of
//       documents and writes its tokenizer.json to OUT; --special, once or more, replaces the
//       default special tokens (in order); unset options keep BpeTrainOptions' defaults.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tokenizers/bpe_trainer.h"
#include "tokenizers/byte_level_bpe.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/unicode.h"

namespace {

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw eidetic::Error(path + ": cannot open file");
  return read_all(in);
}

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

int usage() {
  std::cerr << "usage: eidetic_tokenize_tool encode-file TOKENIZER FILE [--llama2c-vocab-size N] [--repeat K]\n"
               "       eidetic_tokenize_tool batch TOKENIZER [--llama2c-vocab-size N] < request.json\n"
               "       eidetic_tokenize_tool train OUT [--vocab-size N] [--min-frequency F] [--special TOKEN]... "
               "< documents.json\n";
  return 2;
}

int train(int argc, char** argv) {
  const std::string out_path = argv[2];
  eidetic::tok::BpeTrainOptions options;
  bool specials_given = false;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--vocab-size") {
      options.vocab_size = std::atoll(argv[++i]);
    } else if (a == "--min-frequency") {
      options.min_frequency = std::atoll(argv[++i]);
    } else if (a == "--special") {
      if (!specials_given) options.special_tokens.clear();
      specials_given = true;
      options.special_tokens.push_back(argv[++i]);
    } else {
      return usage();
    }
  }
  try {
    const auto documents = nlohmann::json::parse(read_all(std::cin)).get<std::vector<std::string>>();
    const auto t0 = std::chrono::steady_clock::now();
    const std::string json = eidetic::tok::train_byte_level_bpe(documents, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    out << json;
    if (!out.flush()) throw eidetic::Error(out_path + ": cannot write");
    std::cout << nlohmann::json{{"seconds", seconds}, {"documents", documents.size()}}.dump() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string mode = argv[1];
  if (mode == "train") return train(argc, argv);
  const std::string tokenizer_path = argv[2];
  std::string file;
  int64_t vocab_size = 0;
  int repeat = 0;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--llama2c-vocab-size" && i + 1 < argc) {
      vocab_size = std::atoll(argv[++i]);
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else if (file.empty() && a.rfind("--", 0) != 0) {
      file = a;
    } else {
      return usage();
    }
  }
  try {
    auto tok = eidetic::tok::load_tokenizer(tokenizer_path, vocab_size);
    if (mode == "encode-file") {
      if (file.empty()) return usage();
      const std::string text = read_file(file);
      std::vector<int64_t> ids = tok->encode(text);
      if (repeat > 0) {
        double best = 1e30;
        for (int r = 0; r < repeat; ++r) {
          auto fresh = eidetic::tok::load_tokenizer(tokenizer_path, vocab_size);  // cold cache
          const auto t0 = std::chrono::steady_clock::now();
          ids = fresh->encode(text);
          const auto t1 = std::chrono::steady_clock::now();
          best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
        }
        std::cerr << "encode seconds (best of " << repeat << ", cold cache): " << best << " for " << text.size()
                  << " bytes, " << ids.size() << " ids\n";
      }
      std::string line;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
      }
      std::cout << line << "\n";
      return 0;
    }
    if (mode != "batch") return usage();
    const nlohmann::json request = nlohmann::json::parse(read_all(std::cin));
    nlohmann::json answer;
    answer["info"] = {{"vocab_size", tok->vocab_size()},
                      {"bos", tok->bos_id() ? nlohmann::json(*tok->bos_id()) : nlohmann::json()},
                      {"eos", tok->eos_id() ? nlohmann::json(*tok->eos_id()) : nlohmann::json()},
                      {"kind", tok->kind()}};
    if (request.contains("encode")) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : request["encode"]) {
        try {
          out.push_back(tok->encode(s.get<std::string>()));
        } catch (const eidetic::Error& e) {
          out.push_back({{"error", e.what()}});
        }
      }
      answer["encode"] = std::move(out);
    }
    if (request.contains("decode")) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& ids : request["decode"]) {
        try {
          out.push_back(to_hex(tok->decode(ids.get<std::vector<int64_t>>())));
        } catch (const eidetic::Error& e) {
          out.push_back({{"error", e.what()}});
        }
      }
      answer["decode"] = std::move(out);
    }
    if (request.contains("nfc")) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : request["nfc"]) out.push_back(eidetic::tok::unicode::nfc(s.get<std::string>()));
      answer["nfc"] = std::move(out);
    }
    if (request.contains("regex_class")) {  // one digit per code point: 0 other, 1 L, 2 N, 3 \s
      std::string out;
      for (const auto& cp : request["regex_class"])
        out += static_cast<char>('0' + static_cast<int>(eidetic::tok::unicode::regex_class(cp.get<char32_t>())));
      answer["regex_class"] = out;
    }
    if (request.contains("numeric")) {  // one digit per code point: 1 when unicode::is_numeric
      std::string out;
      for (const auto& cp : request["numeric"])
        out += eidetic::tok::unicode::is_numeric(cp.get<char32_t>()) ? '1' : '0';
      answer["numeric"] = out;
    }
    if (request.contains("pretokenize")) {
      using eidetic::tok::PreTokenizer;
      const std::string name = request.value("pre", std::string("gpt2"));
      PreTokenizer pre = PreTokenizer::gpt2;
      bool known = false;
      for (PreTokenizer p : {PreTokenizer::gpt2, PreTokenizer::digits_gpt2, PreTokenizer::llama3, PreTokenizer::qwen2})
        if (name == eidetic::tok::pre_tokenizer_name(p)) pre = p, known = true;
      if (!known) throw eidetic::Error("request: unknown \"pre\" '" + name + "'");
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : request["pretokenize"])
        out.push_back(eidetic::tok::byte_level_pretokenize(s.get<std::string>(), pre));
      answer["pretokenize"] = std::move(out);
    }
    if (request.contains("encode_files")) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& p : request["encode_files"]) out.push_back(tok->encode(read_file(p.get<std::string>())));
      answer["encode_files"] = std::move(out);
    }
    std::cout << answer.dump() << "\n";
    return 0;
  } catch (const eidetic::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
