// harness/progress.cpp: see progress.h.
#include "harness/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <ostream>

namespace eidetic::harness {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::ostream& out, int64_t total, bool terminal, bool quiet, double plain_interval_s)
    : out_(out), total_(total), terminal_(terminal), quiet_(quiet), interval_(plain_interval_s) {
  start_ = last_print_ = std::chrono::steady_clock::now();
}

std::string Progress::line(int64_t done, int64_t tokens) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t new_items = done - std::max<int64_t>(start_done_, 0);
  const double rate = elapsed > 0 ? static_cast<double>(new_items) / elapsed : 0.0;
  const double tps = elapsed > 0 ? static_cast<double>(tokens) / elapsed : 0.0;
  std::string eta = "--";
  if (rate > 0 && done < total_) {
    const auto s = static_cast<int64_t>(static_cast<double>(total_ - done) / rate);
    eta = fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  } else if (done >= total_) {
    eta = "0:00:00";
  }
  const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  std::string bar;
  if (terminal_) {
    const int width = 24, filled = static_cast<int>(frac * width);
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  return fmt::format("{}{}/{} items ({:.1f}%)  {:.1f} items/s  {:.0f} tok/s  ETA {}", bar, done, total_, 100 * frac, rate,
                     tps, eta);
}

void Progress::update(int64_t done, int64_t tokens) {
  if (quiet_) return;
  if (start_done_ < 0) start_done_ = done;
  last_done_ = done;
  last_tokens_ = tokens;
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    out_ << "\r" << line(done, tokens) << "\033[K" << std::flush;
  } else if (std::chrono::duration<double>(now - last_print_).count() >= interval_) {
    out_ << line(done, tokens) << "\n" << std::flush;
    last_print_ = now;
  }
}

void Progress::finish() {
  if (quiet_ || finished_) return;
  finished_ = true;
  if (start_done_ < 0) start_done_ = last_done_;
  out_ << (terminal_ ? "\r" : "") << line(last_done_, last_tokens_) << (terminal_ ? "\033[K\n" : "\n") << std::flush;
}

}  // namespace eidetic::harness
