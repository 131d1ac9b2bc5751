// common/atomic_file.h: files that appear whole or not at all.
//
// Every file Eidetic writes for a user (manifests, metrics, reports, checkpoints, arrays, model
// folders, submission CSVs) goes through AtomicFile: the bytes go to a temporary file beside the
// target (same folder, so the rename cannot cross file systems), which is flushed to disk
// (fsync), renamed over the target, and the folder is synced so that the rename itself survives
// a power loss. A reader therefore sees the old file or the new one, never a torn one. When
// anything fails, or the AtomicFile is destroyed before commit(), the temporary file is removed:
// no `*.tmp` survives a failed write. Errors are eidetic::Error naming the target file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace eidetic {

class AtomicFile {
 public:
  // Opens a temporary file beside `file` (the folder must exist).
  explicit AtomicFile(std::filesystem::path file);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // fsync, close, rename over the target, fsync the folder.
  void commit();

  const std::filesystem::path& path() const { return file_; }

 private:
  std::filesystem::path file_, tmp_;
  int fd_ = -1;
};

// The whole content at once.
void write_file_atomic(const std::filesystem::path& file, std::string_view bytes);

}  // namespace eidetic
