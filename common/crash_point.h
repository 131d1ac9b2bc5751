// common/crash_point.h: a test-only hook that kills the process at a named point of a run.
//
// With EIDETIC_CRASH_AT=PHASE or PHASE:N in the environment, the N-th time (default 1) the
// process reaches crash_point("PHASE") it sends itself SIGKILL: exactly what `kill -9` or a
// power loss does, with no destructor, flush or handler run. PHASE:N:stop sends SIGSTOP
// instead: the process halts there, holding what it holds, until a SIGCONT (a slow run,
// made deterministic). The crash tests
// (tests/crash_resume_test.py) use it to stop a run at each phase deterministically, then check
// that `--resume` finishes it with the metrics of an uninterrupted run. Unset, it costs one
// getenv per call site and does nothing.
//
// The phases, in the order a run meets them:
//   lab-corpus      the lab's corpus files are written
//   lab-tokenizer   the lab's tokenizer is written
//   train-step      an optimizer step of the lab's training is done (N counts steps)
//   lab-model       the lab's trained model is exported
//   batch           an attack batch is computed, before its records are appended (N counts batches)
//   records         every record is on disk, before metrics.json
//   report          metrics.json is written, before the reports
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace eidetic {

inline void crash_point(const char* phase) {
  static const char* const spec = std::getenv("EIDETIC_CRASH_AT");
  if (!spec || !*spec) return;
  static std::mutex mu;
  static std::map<std::string, long> seen;
  const std::string s(spec);
  const auto colon = s.find(':');
  if (s.substr(0, colon) != phase) return;
  const long want = colon == std::string::npos ? 1 : std::strtol(s.c_str() + colon + 1, nullptr, 10);
  const bool stop = s.size() > 5 && s.compare(s.size() - 5, 5, ":stop") == 0;
  std::lock_guard<std::mutex> lock(mu);
  if (++seen[phase] == want) ::kill(::getpid(), stop ? SIGSTOP : SIGKILL);
}

}  // namespace eidetic
