// harness/config.h: experiment configs in YAML, validated against a schema.
//
// A config file may name `base: other.yaml` (relative to itself) to inherit everything it does
// not override; maps merge key by key, anything else is replaced. `--set a.b=value` overrides
// a key from the command line (the value is read as YAML, so 3 is an integer and [1, 2] a list).
// Every value remembers where it came from, so an unknown key, a wrong type or a missing
// required field is reported as `FILE:LINE:COLUMN: key 'a.b': what was expected`.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/schema.h"

namespace eidetic::harness {

// Where a value was written: a file position, or the --set argument that gave it.
struct Location {
  std::string file;  // path, or "--set a.b=value"
  int line = 0;      // 1-based; 0 when not from a file
  int column = 0;
  std::string str() const;
};

// A parsed YAML value with locations (scalars keep their text; types come from the schema).
struct ConfigValue {
  struct Entry;  // a key and its value (defined below: it holds a ConfigValue)
  enum class Kind { null, scalar, sequence, map };
  Kind kind = Kind::null;
  std::string scalar;
  bool quoted = false;  // a scalar written in quotes is always a string
  std::vector<ConfigValue> items;
  std::vector<Entry> entries;                                // map entries, in file order
  std::vector<Location> key_locations;                       // one per entry
  Location location;

  const ConfigValue* find(const std::string& key) const;
};

struct ConfigValue::Entry {
  std::string first;
  ConfigValue second;
  Entry(std::string key, ConfigValue value) : first(std::move(key)), second(std::move(value)) {}
};

using eidetic::Field;

// Reads a config file with its `base:` chain and applies `sets` ("a.b=value").
ConfigValue load_config(const std::filesystem::path& file, const std::vector<std::string>& sets = {});

// Checks `value` against `schema` (a map field) and returns the resolved config as JSON, with
// defaults filled in. `extra` lets a map's schema depend on a value (the attack's parameters
// depend on attack.name): given the path of a map and the config so far, it returns extra
// fields allowed there.
using SchemaExtension = std::function<std::vector<Field>(const std::string& path, const ConfigValue& map)>;
nlohmann::json validate_config(const ConfigValue& value, const Field& schema, const SchemaExtension& extra = {});

// `given` (JSON, e.g. written by code) checked against `fields` with their defaults filled in.
nlohmann::json apply_defaults(const nlohmann::json& given, const std::vector<Field>& fields, const std::string& where);

// The resolved config as YAML text (for `eidetic config show`).
std::string to_yaml(const nlohmann::json& resolved);

// A stable hash of the resolved config (FNV-1a 64 over its canonical JSON), as 16 hex digits.
std::string config_hash(const nlohmann::json& resolved);

}  // namespace eidetic::harness
