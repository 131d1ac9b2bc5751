// harness/result_store.h: results.jsonl, the crash-safe record of a run.
//
// One JSON object per line, one line per item. A batch's lines are written with one write()
// and made durable with fsync() before the next batch starts, so a kill at any moment loses at
// most the batch in flight. A kill inside that write can leave a torn last line; opening the
// store cuts the file back to its last complete line, so readers never see a broken record.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace eidetic::harness {

class ResultStore {
 public:
  // Opens (creating it if needed) and repairs a torn tail: every line after the last valid
  // record is cut when none of them is a record (a torn line, NUL bytes, garbage). Throws
  // eidetic::Error naming the file and line when an invalid line has valid records after it.
  explicit ResultStore(std::filesystem::path file);

  const std::set<int64_t>& done() const { return done_; }
  // Throws eidetic::Error when a record's id is not one of 0..items-1.
  void check_ids(int64_t items) const;
  // Every record, ordered by id.
  std::vector<nlohmann::json> read_all() const;
  // Appends records (one line each), durably.
  void append(const std::vector<nlohmann::json>& records);
  // Bytes cut from a torn tail when the store was opened (0 when none).
  int64_t repaired_bytes() const { return repaired_; }

 private:
  std::filesystem::path file_;
  std::set<int64_t> done_;
  int64_t repaired_ = 0;
};

}  // namespace eidetic::harness
