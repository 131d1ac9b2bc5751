// attacks/attack.h: what an attack is, and the table of attacks by name.
//
// An attack turns items (prefixes, candidate sequences, canaries...) into batches of work for
// the session's models and one JSON record per item, then summarizes its records into the
// metrics of a run (the metrics.json contract: "metrics", "tables", "plots", plus keys of its
// own). The harness owns everything else: the config, the run directory, resuming, progress,
// several attacks in one run and reports. Records must be a pure function of the item and the
// run's seed, so that a resumed run equals an uninterrupted one.
//
// Adding an attack is one new file and one line in attack.cpp's table: a `Params` struct with
// its ParamTable (attacks/params.h), a class deriving from Attack whose constructor takes
// (Session&, const Params&) and which says what it measures in `kSummary`, and an
// `AttackInfo NAME_info()` made by `make_attack_info`. See
// docs/ARCHITECTURE.md for a worked example.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attacks/params.h"
#include "attacks/session.h"
#include "common/schema.h"

namespace eidetic::attacks {

class Attack {
 public:
  virtual ~Attack() = default;
  // Number of items; item ids are 0..count-1.
  virtual int64_t item_count() const = 0;
  // Items per batch handed to run_batch.
  virtual int64_t batch_items() const = 0;
  // One record per item, each with "id".
  virtual std::vector<nlohmann::json> run_batch(const std::vector<int64_t>& items) = 0;
  // The metrics.json content (without "profile", which the harness adds).
  virtual nlohmann::json summarize(const std::vector<nlohmann::json>& records) const = 0;
};

struct AttackInfo {
  std::string name;
  std::string summary;        // one line, with the paper it follows
  std::vector<Field> params;  // keys allowed under the attack's section besides `name` (from its ParamTable)
  // Makes the attack from its validated section (defaults filled in).
  std::function<std::unique_ptr<Attack>(Session&, const nlohmann::json& section)> make;
  // The dtype ("fp16", "bf16", "fp32") the attack's reference protocol runs its model in on CUDA,
  // given its section; empty (or no function) when the protocol names none. `model.dtype: auto`
  // takes it on CUDA when every attack of the run that names one agrees.
  std::function<std::string(const nlohmann::json& section)> cuda_dtype;
};

// The AttackInfo of attack class A, whose constructor takes (Session&, const P&) and whose
// A::kSummary says in one line what it measures and after which paper.
template <class A, class P>
AttackInfo make_attack_info(std::string name, const ParamTable<P>& table) {
  AttackInfo a;
  a.name = std::move(name);
  a.summary = A::kSummary;
  a.params = fields_of(table);
  a.make = [&table](Session& s, const nlohmann::json& section) -> std::unique_ptr<Attack> {
    return std::make_unique<A>(s, decode_params(table, section));
  };
  return a;
}

const std::vector<AttackInfo>& attack_registry();
// Throws eidetic::Error listing the known names.
const AttackInfo& find_attack(const std::string& name);

}  // namespace eidetic::attacks
