// Runs every waPC case of ../shared/fixtures/conformance/dev.json against the real third-party
// binaries in ../shared/fixtures/policies. The reference host echoed host-call payloads back
// (and answered tracing/log with nothing), so the same behaviour is plugged in here through
// the dispatcher interface, and every host call the guest makes is compared too.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "support/cant_run.h"
#include "support/conformance.h"
#include "support/engines.h"
#include "support/test_env.h"
#include "wapc/wapc_host.h"

namespace kw {
namespace {

using nlohmann::json;

using kw::test::base64Decode;

struct RecordedCall {
  std::string binding, ns, operation, payload;
};

class EchoDispatcher : public host::Dispatcher {
 public:
  Result<std::string> dispatch(const host::HostCall& c) override {
    calls.push_back({std::string(c.binding), std::string(c.ns), std::string(c.operation),
                     std::string(c.payload)});
    if (c.ns == "tracing" || c.operation == "log") return std::string();
    return std::string(c.payload);
  }
  std::vector<RecordedCall> calls;
};

std::string payloadBytes(const json& c) {
  const std::string enc = c.value("payload_encoding", "utf8");
  if (enc == "base64") return base64Decode(c["payload"].get<std::string>());
  if (enc == "json") return c["payload"].dump();
  return c["payload"].get<std::string>();
}

std::vector<json> wapcCases() { return test::devJsonCases<json>({"wapc", "wapc-guest"}); }

// Every case runs on every engine of the build.
class WapcConformance : public ::testing::TestWithParam<test::EngineCase<json>> {
 protected:
  const json& testCase() const { return std::get<0>(GetParam()); }
  std::shared_ptr<wasm::Engine> engine() const { return test::sharedEngine(std::get<1>(GetParam())); }
  wasm::CompiledModulePtr module(const std::string& file, const std::string& sha) const {
    static std::map<std::string, wasm::CompiledModulePtr> cache;
    std::string key = std::get<1>(GetParam()) + "/" + file;
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    auto bytes = test::readFile(test::sharedDir() / "fixtures/policies" / file);
    EXPECT_EQ(sha256Hex(bytes), sha) << file << " differs from the fixture's recorded digest";
    auto m = engine()->compile(bytes);
    EXPECT_TRUE(m.ok()) << file << ": " << (m.ok() ? "" : m.error().message);
    if (!m.ok()) return nullptr;
    return cache[key] = *m;
  }
};

TEST_P(WapcConformance, MatchesReference) {
  const json& c = testCase();
  auto m = module(c["file"], c["sha256"]);
  ASSERT_TRUE(m);
  EchoDispatcher dispatcher;
  std::vector<std::string> console;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto created = wapc::WapcInstance::create(*engine(), m, {&dispatcher, "conformance", &console,
                                                            deadline});
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<wapc::WapcInstance>>(created))
      << std::get<wasm::CallError>(created).message;
  auto& inst = std::get<std::unique_ptr<wapc::WapcInstance>>(created);
  auto r = inst->call(c["operation"].get<std::string>(), payloadBytes(c), deadline);
  ASSERT_TRUE(std::holds_alternative<wapc::GuestCallResult>(r))
      << std::get<wasm::CallError>(r).message;
  const auto& out = std::get<wapc::GuestCallResult>(r);
  const json& expected = c["expected"];
  EXPECT_EQ(out.ok ? 1 : 0, expected["rc"].get<int>()) << c.value("note", "");
  if (out.ok) {
    EXPECT_EQ(out.response, base64Decode(expected["response_b64"].get<std::string>()));
  } else {
    EXPECT_EQ(out.error, c.value("expected_error", ""));
  }
  const json& calls = c.contains("host_calls") ? c["host_calls"] : json::array();
  ASSERT_EQ(dispatcher.calls.size(), calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(dispatcher.calls[i].binding, calls[i]["binding"]);
    EXPECT_EQ(dispatcher.calls[i].ns, calls[i]["namespace"]);
    EXPECT_EQ(dispatcher.calls[i].operation, calls[i]["operation"]);
    EXPECT_EQ(dispatcher.calls[i].payload, base64Decode(calls[i]["payload_b64"]));
  }
  if (c.contains("console_log")) {
    EXPECT_EQ(json(console), c["console_log"]);
  }
}

std::string caseName(const ::testing::TestParamInfo<json>& info) {
  std::string name = info.param["file"].get<std::string>() + "_" +
                     info.param["operation"].get<std::string>() + "_" +
                     std::to_string(info.index);
  for (auto& ch : name) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(DevJson, WapcConformance, test::forEveryEngine(wapcCases()),
                         (test::engineCaseName<json, caseName>));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WapcConformance);

// Says loudly when the fixtures are missing, instead of passing with zero cases.
TEST(WapcConformanceFixtures, Present) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared is absent: waPC conformance cases skipped";
  EXPECT_EQ(wapcCases().size(), 35u);
}

}  // namespace
}  // namespace kw
