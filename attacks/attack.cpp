// attacks/attack.cpp: the table of attacks. One line per attack.
#include "attacks/attack.h"

#include "common/error.h"

namespace eidetic::attacks {

AttackInfo discoverable_info();
AttackInfo pythia_memorization_info();
AttackInfo extraction_challenge_info();
AttackInfo membership_info();
AttackInfo exposure_info();
AttackInfo sample_and_rank_info();

const std::vector<AttackInfo>& attack_registry() {
  static const std::vector<AttackInfo> table = {
      discoverable_info(),
      pythia_memorization_info(),
      extraction_challenge_info(),
      membership_info(),
      exposure_info(),
      sample_and_rank_info(),
  };
  return table;
}

const AttackInfo& find_attack(const std::string& name) {
  for (const auto& a : attack_registry())
    if (a.name == name) return a;
  std::string names;
  for (const auto& a : attack_registry()) names += (names.empty() ? "" : ", ") + a.name;
  throw Error("unknown attack '" + name + "' (known: " + names + ")");
}

}  // namespace eidetic::attacks
