// Runs every `opa` and `gatekeeper` case of ../shared/fixtures/conformance/dev.json through the
// OPA ABI layer: the given entrypoint id, input and data, compared with what the official
// @open-policy-agent/opa-wasm 1.10.0 SDK returned (its result set), key order included. These
// cases evaluate modules directly, not through a Kubewarden mode, so a module needing a
// builtin we lack is instantiated anyway and fails only if the builtin is reached, as in the SDK.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "opa/opa_abi.h"
#include "support/cant_run.h"
#include "support/conformance.h"
#include "support/engines.h"
#include "support/test_env.h"

namespace kw {
namespace {

using OJson = nlohmann::ordered_json;

std::vector<OJson> regoCases() { return test::devJsonCases<OJson>({"opa", "gatekeeper"}); }

// Every case runs on every engine of the build.
class RegoConformance : public ::testing::TestWithParam<test::EngineCase<OJson>> {
 protected:
  const OJson& testCase() const { return std::get<0>(GetParam()); }
  std::shared_ptr<wasm::Engine> engine() const { return test::sharedEngine(std::get<1>(GetParam())); }
  wasm::CompiledModulePtr module(const std::string& file, const std::string& sha) const {
    static std::map<std::string, wasm::CompiledModulePtr> cache;
    std::string key = std::get<1>(GetParam()) + "/" + file;
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    auto bytes = test::readFile(test::sharedDir() / "fixtures/policies" / file);
    EXPECT_EQ(sha256Hex(bytes), sha) << file << " differs from the fixture's recorded digest";
    auto abi = opa::readAbiVersion(bytes);
    EXPECT_TRUE(abi && opa::checkAbiVersion(*abi).ok()) << file << ": not OPA ABI 1.x";
    auto m = engine()->compile(bytes);
    EXPECT_TRUE(m.ok()) << file << ": " << (m.ok() ? "" : m.error().message);
    if (!m.ok()) return nullptr;
    return cache[key] = *m;
  }
};

TEST_P(RegoConformance, MatchesReference) {
  const OJson& c = testCase();
  auto m = module(c["file"], c["sha256"]);
  ASSERT_TRUE(m);
  opa::OpaInstance::Options options;
  options.policy_id = "conformance";
  options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto created = opa::OpaInstance::create(*engine(), m, std::move(options));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<opa::OpaInstance>>(created))
      << std::get<wasm::CallError>(created).message;
  auto& inst = std::get<std::unique_ptr<opa::OpaInstance>>(created);

  OJson entrypoints = OJson::object();
  for (const auto& [name, id] : inst->info()->entrypoints) entrypoints[name] = id;
  EXPECT_EQ(nlohmann::json(entrypoints), nlohmann::json(c["entrypoints"]));

  auto set = inst->setData(c["data"].dump());
  ASSERT_TRUE(std::holds_alternative<opa::Done>(set)) << std::get<wasm::CallError>(set).message;
  auto r = inst->evaluate(c["entrypoint_id"].get<int32_t>(), c["input"].dump());
  const std::string note = c.value("note", "");
  if (c.contains("expected_error") && !c["expected_error"].is_null()) {
    ASSERT_TRUE(std::holds_alternative<wasm::CallError>(r)) << note << ": expected an error";
    EXPECT_EQ(std::get<wasm::CallError>(r).message, c["expected_error"].get<std::string>()) << note;
    return;
  }
  ASSERT_TRUE(std::holds_alternative<std::string>(r))
      << note << ": " << std::get<wasm::CallError>(r).message;
  OJson got = OJson::parse(std::get<std::string>(r));
  EXPECT_EQ(got, c["expected"]) << note << "\n got:      " << got.dump()
                                << "\n expected: " << c["expected"].dump();
}

std::string caseName(const ::testing::TestParamInfo<OJson>& info) {
  std::string file = info.param["file"].get<std::string>();
  file = file.substr(file.find('/') + 1);
  std::string name = file.substr(0, file.rfind('.')) + "_" + std::to_string(info.index);
  for (auto& ch : name) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(RegoDevJson, RegoConformance, test::forEveryEngine(regoCases()),
                         (test::engineCaseName<OJson, caseName>));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RegoConformance);

// Says loudly when the fixtures are missing, instead of passing with zero cases.
TEST(RegoConformanceFixtures, Present) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared is absent: Rego conformance cases skipped";
  EXPECT_EQ(regoCases().size(), 42u);
}

}  // namespace
}  // namespace kw
