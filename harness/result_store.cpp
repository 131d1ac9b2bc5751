// harness/result_store.cpp: see result_store.h.
#include "harness/result_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"

namespace eidetic::harness {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void for_each_record(const std::filesystem::path& file, const std::string& text,
                     const std::function<void(nlohmann::json&&, size_t)>& f) {
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // unreachable after repair
    ++line_no;
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(file.string() + ":" + std::to_string(line_no) + ": not a JSON record");
    }
    if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer())
      throw Error(file.string() + ":" + std::to_string(line_no) + ": record has no integer \"id\"");
    f(std::move(j), line_no);
  }
}

}  // namespace

// Whether a complete line (without its newline) is a record: a JSON object with an integer id.
bool is_record(const std::string& line) {
  if (line.empty()) return true;  // blank lines are skipped
  try {
    const nlohmann::json j = nlohmann::json::parse(line);
    return j.is_object() && j.contains("id") && j["id"].is_number_integer();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

ResultStore::ResultStore(std::filesystem::path file) : file_(std::move(file)) {
  if (std::filesystem::exists(file_)) {
    // What a crash can leave after the last complete record: a torn line, or (a power loss on
    // some file systems) a run of NUL bytes or garbage, possibly with newlines in it. That tail
    // is cut. An invalid line followed by valid records is damage in the middle: refused.
    const std::string text = read_file(file_);
    size_t keep = 0, start = 0, first_bad_line = 0, line_no = 0;
    bool bad_seen = false;
    while (start < text.size()) {
      const size_t end = text.find('\n', start);
      if (end == std::string::npos) break;  // a torn last line
      ++line_no;
      const bool ok = is_record(text.substr(start, end - start));
      if (ok && bad_seen)
        throw Error(file_.string() + ":" + std::to_string(first_bad_line) +
                    ": not a JSON record, and valid records follow it; the file is damaged, not torn");
      if (!ok && !bad_seen) bad_seen = true, first_bad_line = line_no;
      if (ok) keep = end + 1;
      start = end + 1;
    }
    if (keep < text.size()) {
      repaired_ = static_cast<int64_t>(text.size() - keep);
      std::filesystem::resize_file(file_, keep);
    }
    for_each_record(file_, text.substr(0, keep), [&](nlohmann::json&& j, size_t) { done_.insert(j["id"].get<int64_t>()); });
  } else {
    std::ofstream(file_, std::ios::binary).flush();
    if (!std::filesystem::exists(file_)) throw Error(file_.string() + ": cannot create the results file");
  }
}

void ResultStore::check_ids(int64_t items) const {
  for (int64_t id : done_)
    if (id < 0 || id >= items)
      throw Error(file_.string() + ": a record has id " + std::to_string(id) + ", which belongs to no item of this run (" +
                  std::to_string(items) + " items); it was written by another experiment");
}

std::vector<nlohmann::json> ResultStore::read_all() const {
  std::map<int64_t, nlohmann::json> by_id;
  for_each_record(file_, read_file(file_), [&](nlohmann::json&& j, size_t) {
    const int64_t id = j["id"].get<int64_t>();
    by_id.emplace(id, std::move(j));  // the first record of an id wins
  });
  std::vector<nlohmann::json> out;
  out.reserve(by_id.size());
  for (auto& [id, j] : by_id) out.push_back(std::move(j));
  return out;
}

void ResultStore::append(const std::vector<nlohmann::json>& records) {
  std::string buf;
  for (const auto& r : records) {
    buf += r.dump();
    buf += '\n';
  }
  const int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw Error(file_.string() + ": cannot open for appending (" + std::strerror(errno) + ")");
  size_t written = 0;
  while (written < buf.size()) {
    const ssize_t n = ::write(fd, buf.data() + written, buf.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string e = std::strerror(errno);
      ::close(fd);
      throw Error(file_.string() + ": write failed (" + e + ")");
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string e = std::strerror(errno);
    ::close(fd);
    throw Error(file_.string() + ": fsync failed (" + e + ")");
  }
  ::close(fd);
  for (const auto& r : records) done_.insert(r.at("id").get<int64_t>());
}

}  // namespace eidetic::harness
