// common/mapped_file.h: a whole file mapped read-only into memory (mmap), for the readers of
// large binary formats (safetensors, GGUF): pages are read when touched, and tensors may view
// the mapping as long as they hold it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace eidetic {

class MappedFile {
 public:
  // Throws eidetic::Error naming the file when it cannot be opened, is not a regular file, or
  // cannot be mapped. An empty file maps to size 0 and a null data pointer.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& file);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace eidetic
