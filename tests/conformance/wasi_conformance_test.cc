// Runs every `wasi` case of ../shared/fixtures/conformance/dev.json against the third-party
// WASI policy in ../shared/fixtures/policies (a Javy/JS policy), twice: as a raw command run
// (argv, stdin, exit status, stdout and stderr must match the reference) and, for the
// Kubewarden actions, through WasiRuntime as the evaluator uses it. Then the acceptance check
// of the JS demo policy on its own request fixtures.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "policy/evaluator.h"
#include "policy/wapc_runtime.h"
#include "policy/wasi_runtime.h"
#include "support/cant_run.h"
#include "support/conformance.h"
#include "support/engines.h"
#include "support/test_env.h"

namespace kw::policy {
namespace {

// Ordered, so re-serialised payloads keep the reference's key order (JSON.stringify's).
using CaseJson = nlohmann::ordered_json;

constexpr char kJsDemo[] = "wasi/js-demo-policy-annotated.wasm";

std::vector<CaseJson> wasiCases() { return test::devJsonCases<CaseJson>({"wasi"}); }

// The cases whose operation is one of the Kubewarden WASI actions the runtime issues itself.
std::vector<CaseJson> actionCases() {
  std::vector<CaseJson> out;
  for (auto& c : wasiCases()) {
    const std::string op = c["operation"];
    if (op == "validate" || op == "validate-settings") out.push_back(c);
  }
  return out;
}

// The reference fed stdin with JSON.stringify(payload) or the literal string.
std::string stdinBytes(const CaseJson& c) {
  if (c.value("payload_encoding", "utf8") == "json") return c["payload"].dump();
  return c["payload"].get<std::string>();
}

// The reference host failed every host call; these cases are not expected to make any.
class CountingDispatcher : public host::Dispatcher {
 public:
  Result<std::string> dispatch(const host::HostCall&) override {
    ++calls;
    return makeError("host calls are not part of this conformance case");
  }
  int calls = 0;
};

// Every case runs on every engine of the build; `engine` names it.
std::shared_ptr<wasm::Engine> engineNamed(const std::string& engine) {
  return test::sharedEngine(engine);
}

// Compiled once per file and engine: the JS policy embeds a whole JavaScript engine.
PolicyModulePtr fixtureModule(const std::string& engine, const std::string& file,
                              const std::string& sha256) {
  static std::mutex mu;
  static std::map<std::string, PolicyModulePtr> cache;
  std::lock_guard lock(mu);
  auto& slot = cache[engine + "/" + file];
  if (!slot) {
    auto bytes = test::readFile(test::sharedDir() / "fixtures/policies" / file);
    if (!sha256.empty()) {
      EXPECT_EQ(sha256Hex(bytes), sha256) << file << " differs from the recorded digest";
    }
    auto loaded = loadModule(*engineNamed(engine), bytes);
    EXPECT_TRUE(loaded.ok()) << file << ": " << (loaded ? "" : loaded.error().message);
    if (loaded) slot = *loaded;
  }
  return slot;
}

PolicyConfig fixtureConfig(const std::string& engine, const CaseJson& c,
                           std::string settings_json) {
  PolicyConfig p;
  p.id = "conformance";
  p.module = fixtureModule(engine, c["file"], c["sha256"]);
  p.mode = ExecutionMode::Wasi;
  p.settings_json = std::move(settings_json);
  return p;
}

Invocation invocation(const std::string& engine, host::Dispatcher* d) {
  return Invocation{*engineNamed(engine), d,
                    std::chrono::steady_clock::now() + std::chrono::seconds(30)};
}

class WasiConformance : public ::testing::TestWithParam<test::EngineCase<CaseJson>> {};
class WasiConformanceRuntime : public ::testing::TestWithParam<test::EngineCase<CaseJson>> {};

TEST_P(WasiConformance, RawRunMatchesReference) {
  const auto& [c, engine] = GetParam();
  auto policy = fixtureConfig(engine, c, "{}");
  ASSERT_TRUE(policy.module);
  CountingDispatcher d;
  WasiCommand cmd;
  cmd.argv = c["argv"].get<std::vector<std::string>>();
  cmd.stdin_data = stdinBytes(c);
  cmd.dispatcher = &d;
  cmd.policy_id = policy.id;
  cmd.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  WasiRun run = runWasiCommand(*engineNamed(engine), policy.module->compiled, cmd);

  const CaseJson& expected = c["expected"];
  const int expected_exit = expected.value("exit_code", 0);
  if (expected_exit == 0) {
    ASSERT_FALSE(run.failure) << describeWasiFailure(run);
  } else {
    ASSERT_TRUE(run.failure);
    EXPECT_EQ(run.failure->kind, wasm::FailKind::Exit);
    EXPECT_EQ(run.failure->exit_code, expected_exit);
  }
  EXPECT_EQ(run.stdout_data, expected["stdout"].get<std::string>()) << c.value("note", "");
  if (c.contains("guest_stderr")) {
    EXPECT_EQ(run.stderr_data, c["guest_stderr"]);
  }
  EXPECT_EQ(d.calls, 0);
}

// The same case as the evaluator runs it: WasiRuntime builds argv and stdin itself.
TEST_P(WasiConformanceRuntime, MatchesReference) {
  const auto& [c, engine] = GetParam();
  const std::string op = c["operation"];
  const CaseJson& reply = c["expected"]["stdout_json"];
  CountingDispatcher d;
  WasiRuntime runtime;
  if (op == "validate") {
    const std::string request = c["payload"]["request"].dump();
    auto policy = fixtureConfig(engine, c, c["payload"]["settings"].dump());
    ASSERT_TRUE(policy.module);
    // The runtime must send exactly the document the reference sent.
    EXPECT_EQ(validationPayload(request, policy.settings_json), stdinBytes(c));
    Request req{request, c["payload"]["request"].value("uid", ""), nullptr};
    auto r = runtime.validate(policy, req, invocation(engine, &d));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)["uid"], req.uid);
    EXPECT_EQ((*r)["allowed"], reply["accepted"]);
    if (reply.contains("message")) {
      EXPECT_EQ((*r)["status"]["message"], reply["message"]);
    } else {
      EXPECT_FALSE(r->contains("status")) << r->dump();
    }
  } else {
    ASSERT_EQ(op, "validate-settings");
    auto policy = fixtureConfig(engine, c, stdinBytes(c));
    ASSERT_TRUE(policy.module);
    auto s = runtime.validateSettings(policy, invocation(engine, &d));
    EXPECT_EQ(s.valid, reply["valid"].get<bool>());
    if (reply.contains("message")) {
      EXPECT_EQ(s.message.value_or(""), reply["message"]);
    }
  }
  EXPECT_EQ(d.calls, 0);
}

std::string caseName(const ::testing::TestParamInfo<CaseJson>& info) {
  std::string name = info.param["file"].get<std::string>() + "_" +
                     info.param["operation"].get<std::string>() + "_" +
                     std::to_string(info.index);
  for (auto& ch : name) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(WasiDevJson, WasiConformance, test::forEveryEngine(wasiCases()),
                         (test::engineCaseName<CaseJson, caseName>));
INSTANTIATE_TEST_SUITE_P(WasiDevJson, WasiConformanceRuntime, test::forEveryEngine(actionCases()),
                         (test::engineCaseName<CaseJson, caseName>));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WasiConformance);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WasiConformanceRuntime);

// Says loudly when the fixtures are missing, instead of passing with zero cases.
TEST(WasiConformanceFixtures, Present) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared absent: WASI conformance cases skipped";
  EXPECT_EQ(wasiCases().size(), 4u);
  EXPECT_EQ(actionCases().size(), 3u);
}

// --- acceptance: the JS demo policy on its request fixtures -----------------------------------

// The request fixtures are AdmissionRequests; an AdmissionReview is unwrapped to its request.
std::string admissionRequest(const std::string& relative, std::string* uid) {
  auto bytes = test::readFile(test::sharedDir() / "fixtures/requests" / relative);
  auto j = admission::Json::parse(bytes.begin(), bytes.end());
  if (j.value("kind", admission::Json()) == "AdmissionReview" && j.contains("request")) {
    j = j["request"];
  }
  *uid = j.value("uid", "");
  return j.dump();
}

class WasiAcceptance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!test::haveShared()) KW_CANT_RUN() << "../shared absent";
  }

  admission::OrderedJson evaluate(const std::string& fixture) {
    std::string uid;
    std::string request = admissionRequest("js-demo-policy/" + fixture, &uid);
    PolicyConfig policy;
    policy.id = "js-demo-policy";
    policy.module = fixtureModule(GetParam(), kJsDemo, "");
    policy.mode = ExecutionMode::Wasi;
    EXPECT_TRUE(policy.module);
    if (!policy.module) return {};
    // The annotated module says it is a WASI policy.
    EXPECT_TRUE(policy.module->metadata &&
                policy.module->metadata->executionMode == ExecutionMode::Wasi);
    Evaluator evaluator(engineNamed(GetParam()), &dispatcher_, std::chrono::seconds(30));
    evaluator.setRuntime(ExecutionMode::Wasi, std::make_shared<WasiRuntime>());
    auto r = evaluator.validate(policy, Request{request, uid, nullptr});
    EXPECT_EQ(r["uid"], uid);
    return r;
  }

  CountingDispatcher dispatcher_;
};

TEST_P(WasiAcceptance, JsDemoRejectsPrivilegedPodInDefaultNamespace) {
  auto r = evaluate("privileged-pod-default.json");
  EXPECT_EQ(r["allowed"], false) << r.dump();
  ASSERT_TRUE(r.contains("status")) << r.dump();
  EXPECT_EQ(r["status"]["message"], "privileged containers are not allowed");
  EXPECT_FALSE(r["status"].contains("code")) << r.dump();
}

TEST_P(WasiAcceptance, JsDemoAcceptsPodWithoutPrivilegedContainers) {
  auto r = evaluate("no_privileged_containers.json");
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_FALSE(r.contains("status")) << r.dump();
}

KW_INSTANTIATE_FOR_ENGINES(WasiAcceptance);

}  // namespace
}  // namespace kw::policy
