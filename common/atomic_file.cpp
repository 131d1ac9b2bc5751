// common/atomic_file.cpp: see atomic_file.h.
#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace eidetic {
namespace {

std::string errno_text() { return std::strerror(errno); }

// A name no other writer in this process or another uses at the same time.
std::filesystem::path temporary_beside(const std::filesystem::path& file) {
  static std::atomic<unsigned long> counter{0};
  return file.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path file) : file_(std::move(file)), tmp_(temporary_beside(file_)) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(file_.string() + ": cannot be written (" + errno_text() + ")");
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t bytes) {
  if (fd_ < 0) throw Error(file_.string() + ": written after commit");
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(file_.string() + ": write failed (" + (n < 0 ? errno_text() : std::string("no progress")) + ")");
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw Error(file_.string() + ": committed twice");
  if (::fsync(fd_) != 0) throw Error(file_.string() + ": cannot be flushed to disk (" + errno_text() + ")");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp_.c_str());
    throw Error(file_.string() + ": write failed (" + why + ")");
  }
  if (::rename(tmp_.c_str(), file_.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp_.c_str());
    throw Error(file_.string() + ": cannot be replaced (" + why + ")");
  }
  const std::filesystem::path dir = file_.has_parent_path() ? file_.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // best effort: some file systems cannot sync a folder
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::filesystem::path& file, std::string_view bytes) {
  AtomicFile f(file);
  f.write(bytes);
  f.commit();
}

}  // namespace eidetic
