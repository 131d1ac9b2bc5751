// fuzz/yaml_config_fuzz.cpp: a YAML config with its `base:` chain, then validated against a
// schema that has a field of every type. The input is up to three files joined by the marker
// "\n#FILE\n": a.yaml (loaded), b.yaml and c.yaml (for `base: b.yaml` and so on). A `--set`
// override is applied too, so that path is fuzzed with the files.
#include <cstdlib>

#include "fuzz_util.h"
#include "harness/config.h"

namespace {

eidetic::Field schema() {
  using eidetic::Field;
  using eidetic::make_field;
  using T = Field::Type;
  Field inner = make_field("engine", T::map, "", "a map");
  inner.children = {make_field("batch_size", T::integer, "8", "an integer"),
                    make_field("dtype", T::string, "float32", "a choice", false, {"float32", "bfloat16"})};
  inner.children[0].minimum = 1;
  Field item = make_field("attacks", T::map_list, "", "a list of maps");
  item.children = {make_field("name", T::string, "", "required", true), make_field("limit", T::integer, "", "optional")};
  Field temperature = make_field("temperature", T::number, "1.0", "a number above 0");
  temperature.minimum = 0;
  temperature.minimum_exclusive = true;
  Field root = make_field("", T::map, "", "the config");
  root.children = {inner,
                   item,
                   temperature,
                   make_field("name", T::string, "run", "a string"),
                   make_field("greedy", T::boolean, "false", "a boolean"),
                   make_field("copies", T::integer_list, "[1, 2]", "integers"),
                   make_field("files", T::string_list, "[]", "strings"),
                   make_field("max_new_tokens", T::integer_or_auto, "auto", "an integer or auto"),
                   make_field("params", T::any_map, "", "any map")};
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = eidetic::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, "\n#FILE\n", 3);
  const char* names[] = {"a.yaml", "b.yaml", "c.yaml"};
  for (size_t i = 0; i < 3; ++i) eidetic::fuzz::write_scratch(names[i], i < parts.size() ? parts[i] : std::string_view());
  static const eidetic::Field root = schema();
  const auto file = eidetic::fuzz::scratch_dir() / "a.yaml";
  eidetic::fuzz::expect_clean([&] {
    const auto value = eidetic::harness::load_config(file);
    const auto resolved = eidetic::harness::validate_config(value, root);
    (void)eidetic::harness::to_yaml(resolved);
    (void)eidetic::harness::config_hash(resolved);
  });
  eidetic::fuzz::expect_clean([&] {
    const auto value = eidetic::harness::load_config(file, {"engine.batch_size=3", "copies=[4, 8]"});
    (void)eidetic::harness::validate_config(value, root);
  });
  return 0;
}
