// The OPA and Gatekeeper execution modes on the real third-party modules in
// ../shared/fixtures/policies: verdicts, uid handling, raw refusal, missing builtins refused at
// load, and the deadline stopping a long Rego evaluation.
//
// The deadline case: Rego always terminates, so there is no endless loop to compile (and no
// opa here to compile one). burrego_k8s-basic denies every container whose image is outside
// hooli.com, building each message with the host builtin sprintf; evaluation cost grows faster
// than the container count: 50,000 containers take about 0.8 s here (7 s in Node), of which
// parsing the 2 MB input is about 40 ms. A 150 ms deadline therefore interrupts the eval loop,
// typically inside a guest call made from a host builtin, with margin on either side.
#include "policy/rego_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "policy/evaluator.h"
#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::policy {
namespace {

using admission::Json;
using admission::OrderedJson;
using Clock = std::chrono::steady_clock;
using opa::checkAbiVersion;
using opa::OpaInstance;
using opa::readAbiVersion;

constexpr char kTimeout[] = "guest code interrupted, execution deadline exceeded";
constexpr char kUid[] = "overwritten-uid";

std::shared_ptr<wasm::Engine> engine() {
  static auto e = wasm::createV8Engine();
  return e;
}

policy::PolicyModulePtr loadFixture(const std::string& file) {
  static std::map<std::string, policy::PolicyModulePtr> cache;
  if (auto it = cache.find(file); it != cache.end()) return it->second;
  auto bytes = test::readFile(test::sharedDir() / "fixtures/policies" / file);
  auto m = policy::loadModule(*engine(), bytes);
  EXPECT_TRUE(m.ok()) << file << ": " << (m.ok() ? "" : m.error().message);
  return m.ok() ? cache[file] = *m : nullptr;
}

policy::PolicyConfig config(const std::string& file, policy::ExecutionMode mode,
                            std::string settings = "{}") {
  policy::PolicyConfig c;
  c.id = "rego-test";
  c.module = loadFixture(file);
  c.mode = mode;
  c.settings_json = std::move(settings);
  return c;
}

policy::Invocation invocation(Clock::duration budget = std::chrono::seconds(20)) {
  return policy::Invocation{*engine(), nullptr, Clock::now() + budget};
}

Json podRequest(const std::string& ns) {
  return {{"uid", "1299d386-525b-4032-98ae-1949f69f9cfc"},
          {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
          {"operation", "CREATE"},
          {"namespace", ns},
          {"object",
           {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", "nginx"}, {"namespace", ns}}},
            {"spec", {{"containers", {{{"name", "nginx"}, {"image", "nginx"}}}}}}}}};
}

Result<OrderedJson> validate(const RegoRuntime& runtime, const policy::PolicyConfig& policy,
                             const Json& request,
                             Clock::duration budget = std::chrono::seconds(20)) {
  std::string text = request.dump();
  return runtime.validate(policy, policy::Request{text, kUid, nullptr}, invocation(budget));
}

OrderedJson allowed() {
  return OrderedJson::parse(R"({"uid":"overwritten-uid","allowed":true,
                                "auditAnnotations":null,"warnings":null})");
}

OrderedJson rejected(const std::string& message) {
  OrderedJson r = {{"uid", kUid}, {"allowed", false}, {"status", {{"message", message}}}};
  r["auditAnnotations"] = nullptr;
  r["warnings"] = nullptr;
  return r;
}

#define REQUIRE_SHARED() \
  if (!test::haveShared()) KW_CANT_RUN() << "../shared absent"

TEST(GatekeeperRuntime, AlwaysHappyPolicyAllows) {
  REQUIRE_SHARED();
  GatekeeperRuntime runtime;
  auto policy = config("gatekeeper/gatekeeper_always_happy_policy.wasm",
                       policy::ExecutionMode::Gatekeeper, R"({"allowed_namespaces":["x"]})");
  auto r = validate(runtime, policy, podRequest("default"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, allowed());
  EXPECT_TRUE(runtime.validateSettings(policy, invocation()).valid);
}

TEST(GatekeeperRuntime, AlwaysUnhappyPolicyRejectsWithItsMessages) {
  REQUIRE_SHARED();
  GatekeeperRuntime runtime;
  auto policy =
      config("gatekeeper/gatekeeper_always_unhappy_policy.wasm", policy::ExecutionMode::Gatekeeper);
  for (int i = 0; i < 3; ++i) {  // the module info is cached after the first evaluation
    auto r = validate(runtime, policy, podRequest("default"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, rejected("failing as expected"));
  }
}

TEST(GatekeeperRuntime, RefusesRawRequests) {
  REQUIRE_SHARED();
  GatekeeperRuntime runtime;
  auto policy =
      config("gatekeeper/gatekeeper_always_happy_policy.wasm", policy::ExecutionMode::Gatekeeper);
  policy.raw = true;
  auto r = validate(runtime, policy, Json{{"user", "alice"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "Gatekeeper does not support raw validation requests");
}

TEST(GatekeeperRuntime, ServesManyThreads) {
  REQUIRE_SHARED();
  GatekeeperRuntime runtime;
  auto policy =
      config("gatekeeper/gatekeeper_always_unhappy_policy.wasm", policy::ExecutionMode::Gatekeeper);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto r = validate(runtime, policy, podRequest("default"));
        if (r.ok() && *r == rejected("failing as expected")) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 20);
}

TEST(GatekeeperVerdict, ViolationsAndUnreadableResults) {
  EXPECT_EQ(
      gatekeeperAdmissionResponse(R"([{"result":[{"msg":"a"},{"msg":"b","details":{}}]}])", kUid),
      rejected("a, b"));
  EXPECT_EQ(gatekeeperAdmissionResponse(R"([{"result":[]}])", kUid), allowed());
  EXPECT_EQ(gatekeeperAdmissionResponse(R"([{"result":[{"msg":"a"},{"nomsg":1}]}])", kUid),
            allowed());
  EXPECT_EQ(gatekeeperAdmissionResponse("[]", kUid), allowed());
}

TEST(OpaRuntime, AdmissionReviewPolicyDecidesAndUidIsOverwritten) {
  REQUIRE_SHARED();
  OpaRuntime runtime;
  auto policy = config("gatekeeper/no-default-namespace-rego.wasm", policy::ExecutionMode::Opa);
  auto denied = validate(runtime, policy, podRequest("default"));
  ASSERT_TRUE(denied.ok()) << denied.error().message;
  EXPECT_EQ(*denied, rejected("you cannot use the default namespace"));
  auto ok = validate(runtime, policy, podRequest("kube-system"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, allowed());
  EXPECT_TRUE(runtime.validateSettings(policy, invocation()).valid);
}

TEST(OpaRuntime, ResultWithoutResponseCannotBeInterpreted) {
  REQUIRE_SHARED();
  OpaRuntime runtime;
  auto policy = config("opa/burrego_example-without-data.wasm", policy::ExecutionMode::Opa);
  auto r = validate(runtime, policy, podRequest("default"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot interpret OPA policy result");
}

TEST(OpaVerdict, ResponseFieldsPassThrough) {
  auto r = opaAdmissionResponse(
      R"([{"result":{"response":{"uid":"x","allowed":false,"patchType":"JSONPatch",
          "patch":"W10=","status":{"message":"no","code":403,"reason":"ignored"},
          "warnings":["w"],"extra":1}}}])",
      kUid);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->dump(),
            R"({"uid":"overwritten-uid","allowed":false,"patchType":"JSONPatch","patch":"W10=",)"
            R"("status":{"message":"no","code":403},"auditAnnotations":null,"warnings":["w"]})");
  auto bad = opaAdmissionResponse(R"([{"result":{"response":{"allowed":"yes"}}}])", kUid);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("allowed"), std::string::npos);
  EXPECT_FALSE(opaAdmissionResponse("[]", kUid).ok());
}

TEST(RegoRuntime, ModuleNeedingAMissingBuiltinFailsToLoad) {
  REQUIRE_SHARED();
  OpaRuntime runtime;
  auto policy = config("opa/dotnet-opa-wasm_math-builtin.wasm", policy::ExecutionMode::Opa);
  const std::string expected = "missing Rego builtins: custom.func2. Aborting execution.";
  auto prepared = runtime.prepare(policy, invocation());
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().message, expected);
  auto settings = runtime.validateSettings(policy, invocation());
  EXPECT_FALSE(settings.valid);
  EXPECT_EQ(settings.message.value_or(""), expected);
  auto r = validate(runtime, policy, podRequest("default"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, expected);
  EXPECT_TRUE(runtime
                  .prepare(config("opa/burrego_k8s-basic.wasm", policy::ExecutionMode::Opa),
                           invocation())
                  .ok());  // sprintf is implemented
}

TEST(RegoRuntime, DeadlineStopsALongEvaluation) {
  REQUIRE_SHARED();
  OpaRuntime runtime;
  auto policy = config("opa/burrego_k8s-basic.wasm", policy::ExecutionMode::Opa);
  Json containers = Json::array();
  for (int i = 0; i < 50000; ++i) {
    containers.push_back(
        {{"name", "c" + std::to_string(i)}, {"image", "nginx" + std::to_string(i)}});
  }
  Json request = {{"uid", "u"},
                  {"kind", {{"kind", "Pod"}, {"version", "v1"}}},
                  {"object", {{"spec", {{"containers", containers}}}}}};
  auto start = Clock::now();
  auto r = validate(runtime, policy, request, std::chrono::milliseconds(150));
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(r.ok()) << "the evaluation finished within 150 ms";
  EXPECT_EQ(r.error().message, kTimeout);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  // The thread is fit for the next evaluation, which runs to its end (this module answers a
  // set of messages, not an AdmissionReview, hence the interpretation error).
  auto small = validate(runtime, policy, podRequest("default"));
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().message, "cannot interpret OPA policy result");
}

TEST(RegoRuntime, PassedDeadlineFailsEvenBetweenShortCalls) {
  REQUIRE_SHARED();
  GatekeeperRuntime runtime;
  auto policy =
      config("gatekeeper/gatekeeper_always_happy_policy.wasm", policy::ExecutionMode::Gatekeeper);
  auto r = validate(runtime, policy, podRequest("default"), -std::chrono::milliseconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, kTimeout);
}

TEST(RegoRuntime, EvaluatorTurnsFailuresIntoInternalServerErrors) {
  REQUIRE_SHARED();
  // A deadline far from both evaluations (neither loops): under ThreadSanitizer the first one
  // alone took over 300 ms, and this test is about the answers, not about time.
  policy::Evaluator evaluator(engine(), nullptr, std::chrono::seconds(30));
  evaluator.setRuntime(policy::ExecutionMode::Opa, std::make_shared<OpaRuntime>());
  evaluator.setRuntime(policy::ExecutionMode::Gatekeeper, std::make_shared<GatekeeperRuntime>());
  auto gk =
      config("gatekeeper/gatekeeper_always_unhappy_policy.wasm", policy::ExecutionMode::Gatekeeper);
  std::string text = podRequest("default").dump();
  EXPECT_EQ(evaluator.validate(gk, policy::Request{text, kUid, nullptr}),
            rejected("failing as expected"));
  auto opa = config("opa/burrego_example-without-data.wasm", policy::ExecutionMode::Opa);
  OrderedJson expected = {
      {"uid", kUid},
      {"allowed", false},
      {"status",
       {{"message", "internal server error: cannot interpret OPA policy result"}, {"code", 500}}}};
  expected["auditAnnotations"] = nullptr;
  expected["warnings"] = nullptr;
  EXPECT_EQ(evaluator.validate(opa, policy::Request{text, kUid, nullptr}), expected);
}

TEST(OpaAbi, ReadsTheAbiVersionFromTheBinary) {
  REQUIRE_SHARED();
  auto read = [](const std::string& file) {
    return readAbiVersion(test::readFile(test::sharedDir() / "fixtures/policies" / file));
  };
  auto k8s = read("opa/burrego_k8s-basic.wasm");
  ASSERT_TRUE(k8s);
  EXPECT_EQ(k8s->major, 1);
  EXPECT_EQ(k8s->minor, 1);
  auto dotnet = read("opa/dotnet-opa-wasm_example.wasm");
  ASSERT_TRUE(dotnet);
  EXPECT_EQ(dotnet->minor, 3);
  EXPECT_FALSE(readAbiVersion(std::vector<uint8_t>{0, 'a', 's', 'm', 1, 0, 0, 0}));
  EXPECT_FALSE(checkAbiVersion({2, 0}).ok());
  EXPECT_TRUE(checkAbiVersion({1, 3}).ok());
}

TEST(OpaAbi, AbortAndMissingBuiltinsSurfaceTheirMessages) {
  REQUIRE_SHARED();
  auto run = [](const std::string& file, int32_t entrypoint, const std::string& input) {
    auto m = loadFixture(file);
    OpaInstance::Options options;
    options.deadline = Clock::now() + std::chrono::seconds(20);
    auto created = OpaInstance::create(*engine(), m->compiled, std::move(options));
    EXPECT_TRUE(std::holds_alternative<std::unique_ptr<OpaInstance>>(created));
    return std::get<std::unique_ptr<OpaInstance>>(created)->evaluate(entrypoint, input);
  };
  auto aborted = run("opa/dotnet-opa-wasm_abort.wasm", 1, "{}");
  ASSERT_TRUE(std::holds_alternative<wasm::CallError>(aborted));
  EXPECT_EQ(std::get<wasm::CallError>(aborted).kind, wasm::FailKind::HostError);
  EXPECT_EQ(std::get<wasm::CallError>(aborted).message, "abort.rego:6:1: var assignment conflict");
  auto missing =
      run("opa/dotnet-opa-wasm_math-builtin.wasm", 0, R"({"firstNumber":"3","secondNumber":"4"})");
  ASSERT_TRUE(std::holds_alternative<wasm::CallError>(missing));
  EXPECT_EQ(std::get<wasm::CallError>(missing).message,
            "not implemented: built-in function 0: custom.func2");
  auto unknown_entrypoint = run("opa/burrego_k8s-basic.wasm", 7, "{}");
  ASSERT_TRUE(std::holds_alternative<wasm::CallError>(unknown_entrypoint));
}

}  // namespace
}  // namespace kw::policy
