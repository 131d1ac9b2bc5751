// common/schema.h: the shape of a config section, declared by whoever reads it (the harness for
// the run, each attack for its parameters) and checked by harness/config.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace eidetic {

struct Field {
  enum class Type { string, integer, number, boolean, map, string_list, integer_list, integer_or_auto, any_map, map_list };
  std::string name;
  Type type = Type::string;
  bool required = false;
  std::string default_yaml;          // empty: no default (an optional field is then omitted)
  std::vector<std::string> choices;  // strings: the allowed values
  std::string help;
  std::optional<double> minimum;     // numbers (and list items): the smallest value allowed
  bool minimum_exclusive = false;    // ... or the bound values must stay above
  std::vector<Field> children;       // maps (and each map of a map_list): their fields
};

// A field in one call: schema tables read like the config they describe.
inline Field make_field(std::string name, Field::Type type, std::string default_yaml, std::string help,
                        bool required = false, std::vector<std::string> choices = {}) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  f.required = required;
  f.default_yaml = std::move(default_yaml);
  f.help = std::move(help);
  f.choices = std::move(choices);
  return f;
}

}  // namespace eidetic
