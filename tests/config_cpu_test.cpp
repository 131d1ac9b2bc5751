// Configs: every error names FILE:LINE:COLUMN, the key and what was expected; `base:`
// inheritance merges maps; --set overrides from the command line; `config show` prints the
// resolved config.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_util.h"
#include "common/error.h"
#include "harness/run.h"

namespace eidetic {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("eidetic-config-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  std::string error_of(const fs::path& file, const std::vector<std::string>& sets = {}) {
    try {
      harness::resolve_config(file, sets);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
  fs::path dir_;
};

const char* kValid =
    "model:\n"
    "  path: some/model\n"
    "attack:\n"
    "  name: discoverable\n"
    "  prefix: p.npy\n"
    "  suffix: s.npy\n";

TEST_F(ConfigTest, ValidConfigGetsDefaults) {
  const auto c = harness::resolve_config(write("exp.yaml", kValid), {});
  EXPECT_EQ(c["name"], "exp");
  EXPECT_EQ(c["seed"], 0);
  EXPECT_EQ(c["output"], "runs/exp");
  EXPECT_EQ(c["model"]["dtype"], "auto");
  EXPECT_EQ(c["engine"]["batch_size"], "auto");
  EXPECT_EQ(c["attack"]["prefix_len"], 0);
}

TEST_F(ConfigTest, UnknownKeyNamesFileLineColumn) {
  const auto f = write("exp.yaml", std::string(kValid) + "seeed: 3\n");
  EXPECT_EQ(error_of(f), f.string() + ":7:1: unknown key 'seeed' (expected one of: name, seed, output, model, attack, attacks, engine, profile, lab, arch, train, sweep)");
  const auto g = write("nested.yaml", "model:\n  path: m\n  dtyp: fp16\nattack:\n  name: discoverable\n  prefix: p\n  suffix: s\n");
  EXPECT_NE(error_of(g).find(g.string() + ":3:3: unknown key 'model.dtyp'"), std::string::npos) << error_of(g);
  // An attack's own parameters are known only under that attack.
  const auto h = write("attack.yaml", std::string(kValid) + "  beam: 3\n");
  EXPECT_NE(error_of(h).find(h.string() + ":7:3: unknown key 'attack.beam'"), std::string::npos) << error_of(h);
}

TEST_F(ConfigTest, WrongTypeNamesTheValue) {
  const auto f = write("exp.yaml", std::string(kValid) + "seed: abc\n");
  EXPECT_EQ(error_of(f), f.string() + ":7:7: key 'seed': expected an integer, got 'abc'");
  const auto g = write("dtype.yaml", "model:\n  path: m\n  dtype: fp64\nattack:\n  name: discoverable\n  prefix: p\n  suffix: s\n");
  EXPECT_EQ(error_of(g), g.string() + ":3:10: key 'model.dtype': expected one of auto, fp32, fp16, bf16, got 'fp64'");
  const auto h = write("graphs.yaml", std::string(kValid) + "engine:\n  cuda_graphs: maybe\n");
  EXPECT_NE(error_of(h).find(":8:16: key 'engine.cuda_graphs': expected true or false, got 'maybe'"), std::string::npos)
      << error_of(h);
}

TEST_F(ConfigTest, MissingRequiredFieldIsNamed) {
  const auto f = write("exp.yaml", "attack:\n  name: discoverable\n  prefix: p\n  suffix: s\n");
  EXPECT_NE(error_of(f).find(f.string() + ":1:1: missing required key 'model'"), std::string::npos) << error_of(f);
  const auto g = write("noname.yaml", "model:\n  path: m\nattack:\n  prefix: p\n  suffix: s\n");
  EXPECT_NE(error_of(g).find(g.string() + ":4:3: missing required key 'attack.name'"), std::string::npos) << error_of(g);
  const auto h = write("unknown_attack.yaml", "model:\n  path: m\nattack:\n  name: telepathy\n");
  EXPECT_NE(error_of(h).find(":4:9: key 'attack.name': expected one of"), std::string::npos) << error_of(h);
}

TEST_F(ConfigTest, SyntaxErrorsHaveLocations) {
  const auto f = write("bad.yaml", "model:\n  path: [unclosed\n");
  EXPECT_NE(error_of(f).find(f.string() + ":"), std::string::npos);
  EXPECT_NE(error_of(f).find("YAML syntax error"), std::string::npos) << error_of(f);
  EXPECT_NE(error_of(dir_ / "missing.yaml").find("config file not found"), std::string::npos);
}

TEST_F(ConfigTest, BaseIsInheritedAndOverridden) {
  write("base.yaml", std::string(kValid) + "seed: 1\nengine:\n  batch_size: 16\n  cuda_graphs: false\n");
  const auto child = write("child.yaml", "base: base.yaml\nseed: 7\nengine:\n  batch_size: 4\nattack:\n  prefix_len: 32\n");
  const auto c = harness::resolve_config(child, {});
  EXPECT_EQ(c["seed"], 7);
  EXPECT_EQ(c["engine"]["batch_size"], 4);
  EXPECT_EQ(c["engine"]["cuda_graphs"], false);  // kept from the base: maps merge key by key
  EXPECT_EQ(c["attack"]["prefix"], "p.npy");
  EXPECT_EQ(c["attack"]["prefix_len"], 32);
  EXPECT_EQ(c["name"], "child");
  // An error in the base names the base's file.
  write("base2.yaml", std::string(kValid) + "seed: x\n");
  const auto child2 = write("child2.yaml", "base: base2.yaml\n");
  EXPECT_NE(error_of(child2).find((dir_ / "base2.yaml").string() + ":7:7: key 'seed'"), std::string::npos) << error_of(child2);
  write("loop_a.yaml", "base: loop_b.yaml\n");
  write("loop_b.yaml", "base: loop_a.yaml\n");
  EXPECT_NE(error_of(dir_ / "loop_a.yaml").find("loops back"), std::string::npos);
}

TEST_F(ConfigTest, SetOverridesAndIsCheckedToo) {
  const auto f = write("exp.yaml", kValid);
  const auto c = harness::resolve_config(f, {"seed=5", "attack.limit=10", "engine.batch_size=8", "model.dtype=bf16"});
  EXPECT_EQ(c["seed"], 5);
  EXPECT_EQ(c["attack"]["limit"], 10);
  EXPECT_EQ(c["engine"]["batch_size"], 8);
  EXPECT_EQ(c["model"]["dtype"], "bf16");
  EXPECT_EQ(error_of(f, {"attack.limit=many"}), "--set attack.limit=many: key 'attack.limit': expected an integer, got 'many'");
  EXPECT_NE(error_of(f, {"colour=blue"}).find("--set colour=blue: unknown key 'colour'"), std::string::npos);
  EXPECT_NE(error_of(f, {"novalue"}).find("expected KEY=VALUE"), std::string::npos);
}

TEST_F(ConfigTest, ConfigShowPrintsTheResolvedConfig) {
  const auto f = write("exp.yaml", kValid);
  const auto r = testing::run_cli({"config", "show", f.string(), "--set", "seed=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("seed: 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batch_size: auto"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# config hash: "), std::string::npos);
  const auto bad = testing::run_cli({"config", "show", f.string(), "--set", "seed=x"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--set seed=x"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace eidetic
