// attacks/attack.h: what an attack is, and the table of attacks by name.
//
// An attack turns items (prefixes, candidate sequences, canaries...) into batches of engine
// work and one JSON record per item, then summarizes all records into the metrics of a run
// (the metrics.json contract: "metrics", "tables", "plots"). The harness owns everything else:
// the config, the run directory, resuming, progress and reports. Records must be a pure
// function of the item and the run's seed, so that a resumed run equals an uninterrupted one.
// Adding an attack is one new file and one line in attack.cpp's table.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/schema.h"
#include "models/roofline.h"

namespace eidetic::models {
class Model;
class Engine;
}  // namespace eidetic::models
namespace eidetic::tok {
class Tokenizer;
}

namespace eidetic::attacks {

// Seconds spent per phase of a run (load, tokenize, prefill, decode, score, match, write).
struct Profile {
  std::map<std::string, double> seconds;
  int64_t generated_tokens = 0;
  int64_t scored_tokens = 0;
  int64_t sequences = 0;
  double floor_seconds = 0;  // roofline floor of the work done (see models/roofline.h)
  void add(const std::string& phase, double s) { seconds[phase] += s; }
};

// What a run hands an attack.
struct Context {
  nlohmann::json config;          // the resolved config (attack parameters under "attack")
  models::Model* model = nullptr;
  models::Engine* engine = nullptr;
  const tok::Tokenizer* tokenizer = nullptr;  // may be null when the config names none
  Profile* profile = nullptr;
  models::Ceilings ceilings;      // measured at the start of the run, for the roofline
  uint64_t seed = 0;
  std::string run_dir;            // where an attack may write files of its own (a submission CSV)
};

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
  std::string summary;          // one line, with the paper it follows
  std::vector<Field> params;    // keys allowed under `attack:` besides `name`
  std::function<std::unique_ptr<Attack>(Context&)> make;
};

const std::vector<AttackInfo>& attack_registry();
// Throws eidetic::Error listing the known names.
const AttackInfo& find_attack(const std::string& name);

}  // namespace eidetic::attacks
