// corpus/text_corpus.cpp: see text_corpus.h.
#include "corpus/text_corpus.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace eidetic::corpus {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw Error(where + ": " + what); }

bool is_corpus_file(const std::filesystem::path& p) {
  return p.extension() == ".txt" || p.extension() == ".jsonl";
}

// A file named on its own is plain text when its name says so: .txt, .md, .rst, no extension,
// or a version number for one (/usr/share/common-licenses/GPL-3, Apache-2.0).
bool is_named_text_file(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  if (ext.empty() || ext == ".txt" || ext == ".md" || ext == ".rst") return true;
  return ext.size() > 1 && ext.find_first_not_of("0123456789", 1) == std::string::npos;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file.string(), "cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) fail(file.string(), "read failed");
  return s.str();
}

std::vector<int64_t> encode(const tok::Tokenizer& tokenizer, const std::string& text, const std::string& where) {
  try {
    return tokenizer.encode(text);
  } catch (const Error& e) {
    fail(where, e.what());
  }
}

void read_text(const std::filesystem::path& file, const tok::Tokenizer& tokenizer, std::vector<Document>& out) {
  const std::string name = file.string();
  out.push_back({name, encode(tokenizer, read_file(file), name)});
}

void read_jsonl(const std::filesystem::path& file, const tok::Tokenizer& tokenizer, const std::string& field,
                std::vector<Document>& out) {
  const std::string text = read_file(file);
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r\f\v") == std::string_view::npos) continue;  // blank
    const std::string where = file.string() + ":" + std::to_string(line_no);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number past double
      fail(where, std::string("malformed JSON: ") + e.what());
    }
    if (!record.is_object()) fail(where, std::string("expected a JSON object, got ") + record.type_name());
    const auto it = record.find(field);
    if (it == record.end()) fail(where, "no field \"" + field + "\"");
    if (!it->is_string()) fail(where, "field \"" + field + "\" is " + it->type_name() + ", not a string");
    out.push_back({where, encode(tokenizer, it->get_ref<const std::string&>(), where)});
  }
}

void read_one(const std::filesystem::path& file, const tok::Tokenizer& tokenizer, const std::string& field,
              std::vector<Document>& out) {
  if (file.extension() == ".jsonl")
    read_jsonl(file, tokenizer, field, out);
  else if (is_named_text_file(file))
    read_text(file, tokenizer, out);
  else
    fail(file.string(), "unsupported corpus file (expected .txt, .md, .rst or no extension for text, .jsonl, or a "
                        "folder of .txt/.jsonl files)");
}

}  // namespace

std::vector<Document> read_text_corpus(const std::vector<std::filesystem::path>& files,
                                       const tok::Tokenizer& tokenizer, const std::string& jsonl_field) {
  std::vector<Document> out;
  for (const auto& path : files) {
    if (std::filesystem::is_directory(path)) {
      std::vector<std::filesystem::path> inside;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
        if (entry.is_regular_file() && is_corpus_file(entry.path())) inside.push_back(entry.path());
      std::sort(inside.begin(), inside.end());
      for (const auto& f : inside) read_one(f, tokenizer, jsonl_field, out);
    } else if (std::filesystem::exists(path)) {
      read_one(path, tokenizer, jsonl_field, out);
    } else {
      fail(path.string(), "file not found");
    }
  }
  return out;
}

}  // namespace eidetic::corpus
