// attacks/params.h: an attack's parameters, declared once.
//
// Each attack has a plain `Params` struct and one table that names every member once: its key
// under `attack:`, the member, its default (as YAML), its help and, for strings, its choices.
// Everything else derives from that table: the config schema (types, defaults, required keys,
// choices, so `eidetic config show` prints every default), the README's parameter list
// (`eidetic config attacks`), and the decoding of a validated config section into the struct
// the attack reads. No attack reads a config tree.
//
//   struct ExposureParams { std::vector<std::string> secrets; int64_t length = 6; };
//   const ParamTable<ExposureParams>& exposure_params() {
//     static const ParamTable<ExposureParams> t = {
//         param("secrets", &ExposureParams::secrets, "", "the planted secrets", required),
//         param("length", &ExposureParams::length, "6", "characters per secret")};
//     return t;
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "common/schema.h"

namespace eidetic::attacks {

// One parameter of a Params struct P.
template <class P>
struct Param {
  Field field;                                          // name, type, default, help, choices, bounds
  std::function<void(P&, const nlohmann::json&)> set;  // from the validated value

  // Bounds the validator enforces (a config value outside is an error naming the key).
  Param&& at_least(double v) && {
    field.minimum = v;
    return std::move(*this);
  }
  Param&& above(double v) && {
    field.minimum = v;
    field.minimum_exclusive = true;
    return std::move(*this);
  }
};

template <class P>
using ParamTable = std::vector<Param<P>>;

inline constexpr bool required = true;

namespace detail {
template <class T>
constexpr Field::Type field_type() {
  if constexpr (std::is_same_v<T, bool>) return Field::Type::boolean;
  else if constexpr (std::is_same_v<T, int64_t>) return Field::Type::integer;
  else if constexpr (std::is_same_v<T, double>) return Field::Type::number;
  else if constexpr (std::is_same_v<T, std::string>) return Field::Type::string;
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return Field::Type::string_list;
  else if constexpr (std::is_same_v<T, std::vector<int64_t>>) return Field::Type::integer_list;
  else static_assert(sizeof(T) == 0, "unsupported parameter type");
}
}  // namespace detail

// A table row: the member `m` of P (or of a base of P) under `name`.
template <class P, class B, class T>
Param<P> param(std::string name, T B::*m, std::string default_yaml, std::string help, bool is_required = false,
               std::vector<std::string> choices = {}) {
  static_assert(std::is_base_of_v<B, P>, "the member must belong to the Params struct or a base of it");
  Param<P> p;
  p.field = make_field(std::move(name), detail::field_type<T>(), std::move(default_yaml), std::move(help), is_required,
                       std::move(choices));
  p.set = [m](P& out, const nlohmann::json& v) { static_cast<B&>(out).*m = v.get<T>(); };
  return p;
}

// The schema fields of a table (for the config validator).
template <class P>
std::vector<Field> fields_of(const ParamTable<P>& table) {
  std::vector<Field> out;
  for (const auto& p : table) out.push_back(p.field);
  return out;
}

// A validated section (defaults filled in by the validator) decoded into P. Keys the table does
// not name are ignored (the validator has already refused unknown ones).
template <class P>
P decode_params(const ParamTable<P>& table, const nlohmann::json& section) {
  P out;
  for (const auto& p : table) {
    const auto it = section.find(p.field.name);
    if (it != section.end() && !it->is_null()) p.set(out, *it);
  }
  return out;
}

}  // namespace eidetic::attacks
