// WasiRuntime on our own WASI guests (guest/policies/wasi_*): verdicts and settings through the
// command-module protocol, host calls answered on stdin, and every way a run can fail (exit
// status, deadline, missing _start, bad pointers, unreadable reply) turned into Kubewarden's
// error texts (spec §2.4, §2.5).
#include "policy/wasi_runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "policy/evaluator.h"
#include "policy/wapc_runtime.h"
#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::policy {
namespace {

using admission::Json;
using admission::OrderedJson;
using Clock = std::chrono::steady_clock;

constexpr char kPrivilegedMessage[] = "Privileged container is not allowed";
constexpr char kDeadlineText[] = "guest code interrupted, execution deadline exceeded";

// A CREATE AdmissionRequest for a Pod with one container, optionally privileged and annotated.
Json podRequest(const std::string& uid, bool privileged, Json annotations = Json::object()) {
  Json container = {{"name", "c"}, {"image", "nginx"}};
  if (privileged) container["securityContext"] = {{"privileged", true}};
  return {
      {"uid", uid},
      {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
      {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
      {"operation", "CREATE"},
      {"namespace", "default"},
      {"name", "web"},
      {"object",
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", "web"}, {"annotations", annotations}}},
        {"spec", {{"containers", Json::array({container})}}}}},
  };
}

// Request only views its text, so the test keeps the text alive alongside it.
struct OwnedRequest {
  std::string json;
  std::string uid;
  Request view() const { return Request{json, uid, nullptr}; }
};

OwnedRequest own(const Json& j) { return {j.dump(), j.value("uid", "")}; }

std::string statusMessage(const OrderedJson& r) {
  if (!r.contains("status") || !r["status"].contains("message")) return "";
  return r["status"]["message"].get<std::string>();
}

// Answers kubewarden/test/echo with the payload, fails everything else, and records calls.
class RecordingDispatcher : public host::Dispatcher {
 public:
  Result<std::string> dispatch(const host::HostCall& c) override {
    std::lock_guard lock(mu_);
    calls_.push_back(std::string(c.policy_id) + "|" + std::string(c.binding) + "/" +
                     std::string(c.ns) + "/" + std::string(c.operation) + "|" +
                     std::string(c.payload));
    if (c.binding == "kubewarden" && c.ns == "test" && c.operation == "echo") {
      return std::string(c.payload);
    }
    return makeError("unknown binding/namespace/operation: " + std::string(c.operation));
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> calls_;
};

class FailingDispatcher : public host::Dispatcher {
 public:
  Result<std::string> dispatch(const host::HostCall&) override {
    return makeError("the cluster is unreachable");
  }
};

class WasiRuntimeTest : public ::testing::Test {
 protected:
  static std::shared_ptr<wasm::Engine> engine() {
    static auto e = wasm::createV8Engine();
    return e;
  }

  static PolicyModulePtr module(const std::string& name) {
    static std::mutex mu;
    static std::map<std::string, PolicyModulePtr> cache;
    std::lock_guard lock(mu);
    auto& slot = cache[name];
    if (!slot) {
      auto bytes = test::readFile(test::guestPath(name));
      EXPECT_FALSE(bytes.empty()) << "guest not built: " << test::guestPath(name);
      auto loaded = loadModule(*engine(), bytes);
      EXPECT_TRUE(loaded.ok()) << name << ": " << (loaded ? "" : loaded.error().message);
      if (loaded) slot = *loaded;
    }
    return slot;
  }

  static PolicyConfig config(const std::string& name, const std::string& settings = "{}") {
    PolicyConfig c;
    c.id = name + "-id";
    c.module = module(name);
    c.mode = ExecutionMode::Wasi;
    c.settings_json = settings;
    return c;
  }

  Invocation invocation(host::Dispatcher* d = nullptr,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    return Invocation{*engine(), d, Clock::now() + timeout};
  }

  Result<OrderedJson> validate(const PolicyConfig& policy, const Json& request,
                               host::Dispatcher* d = nullptr) const {
    auto req = own(request);
    return runtime_.validate(policy, req.view(), invocation(d));
  }

  void SetUp() override {
    for (const char* g : {"wasi_pod_privileged", "wasi_settings_check", "wasi_host_call",
                          "wasi_exit_nonzero", "wasi_endless_loop", "wasi_bad_pointer",
                          "wasi_bad_reply"}) {
      if (!std::filesystem::exists(test::guestPath(g))) FAIL() << "missing " << test::guestPath(g);
    }
  }

  WasiRuntime runtime_;
};

// --- verdicts ---------------------------------------------------------------------------------

TEST_F(WasiRuntimeTest, PodPrivilegedRejectsPrivilegedContainers) {
  auto r = validate(config("wasi_pod_privileged"), podRequest("uid-priv", true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["allowed"], false) << r->dump();
  EXPECT_EQ((*r)["uid"], "uid-priv");
  EXPECT_EQ(statusMessage(*r), kPrivilegedMessage);
}

TEST_F(WasiRuntimeTest, PodPrivilegedAcceptsUnprivilegedPods) {
  auto r = validate(config("wasi_pod_privileged"), podRequest("uid-ok", false));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["allowed"], true) << r->dump();
  EXPECT_EQ((*r)["uid"], "uid-ok");
  EXPECT_FALSE(r->contains("status")) << r->dump();
}

TEST_F(WasiRuntimeTest, PodPrivilegedChecksInitContainersAndIgnoresOtherKinds) {
  Json init = podRequest("uid-init", false);
  init["object"]["spec"]["initContainers"] =
      Json::array({{{"name", "i"}, {"securityContext", {{"privileged", true}}}}});
  auto rejected = validate(config("wasi_pod_privileged"), init);
  ASSERT_TRUE(rejected.ok()) << rejected.error().message;
  EXPECT_EQ((*rejected)["allowed"], false);

  Json deployment = podRequest("uid-deploy", true);
  deployment["kind"]["kind"] = "Deployment";
  auto accepted = validate(config("wasi_pod_privileged"), deployment);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ((*accepted)["allowed"], true);
}

TEST_F(WasiRuntimeTest, PodPrivilegedSharedFixtures) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared absent";
  auto read = [](const char* rel) {
    auto bytes = test::readFile(test::sharedDir() / "fixtures/requests" / rel);
    return Json::parse(bytes.begin(), bytes.end());
  };
  auto policy = config("wasi_pod_privileged");
  auto rejected = validate(policy, read("pod-privileged/privileged_container.json"));
  ASSERT_TRUE(rejected.ok()) << rejected.error().message;
  EXPECT_EQ(statusMessage(*rejected), kPrivilegedMessage);
  auto accepted = validate(policy, read("pod-privileged/no_privileged_containers.json"));
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ((*accepted)["allowed"], true);
}

// --- settings ---------------------------------------------------------------------------------

TEST_F(WasiRuntimeTest, SettingsCheckAcceptsValidSettings) {
  auto s = runtime_.validateSettings(
      config("wasi_settings_check", R"({"required_annotation":"team"})"), invocation());
  EXPECT_TRUE(s.valid) << s.message.value_or("");
  EXPECT_FALSE(s.message.has_value());
}

TEST_F(WasiRuntimeTest, SettingsCheckRejectsInvalidSettings) {
  for (const char* settings : {"{}", R"({"required_annotation":""})",
                               R"({"required_annotation":42})"}) {
    auto s = runtime_.validateSettings(config("wasi_settings_check", settings), invocation());
    EXPECT_FALSE(s.valid) << settings;
    EXPECT_EQ(s.message.value_or(""), "required_annotation must be a non-empty string")
        << settings;
  }
}

TEST_F(WasiRuntimeTest, PoliciesWithoutSettingsValidationAcceptAnySettings) {
  auto s = runtime_.validateSettings(config("wasi_pod_privileged", R"({"anything":[1,2]})"),
                                     invocation());
  EXPECT_TRUE(s.valid) << s.message.value_or("");
}

TEST_F(WasiRuntimeTest, SettingsCheckEnforcesTheConfiguredAnnotation) {
  auto policy = config("wasi_settings_check", R"({"required_annotation":"team"})");
  auto missing = validate(policy, podRequest("uid-missing", false));
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ((*missing)["allowed"], false);
  EXPECT_EQ(statusMessage(*missing), "missing required annotation: team");

  auto present = validate(policy, podRequest("uid-present", false, {{"team", "blue"}}));
  ASSERT_TRUE(present.ok()) << present.error().message;
  EXPECT_EQ((*present)["allowed"], true) << present->dump();
}

TEST_F(WasiRuntimeTest, SettingsCheckAcceptsRequestsWithoutObject) {
  Json del = podRequest("uid-delete", false);
  del["operation"] = "DELETE";
  del.erase("object");
  auto r = validate(config("wasi_settings_check", R"({"required_annotation":"team"})"), del);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["allowed"], true);
}

// --- host capabilities ------------------------------------------------------------------------

TEST_F(WasiRuntimeTest, HostCallReplyArrivesOnStdin) {
  RecordingDispatcher d;
  auto policy = config("wasi_host_call", R"({"greeting":"hello"})");
  auto r = validate(policy, podRequest("uid-host", false), &d);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["allowed"], true) << r->dump();
  EXPECT_EQ(statusMessage(*r), R"({"greeting":"hello"})");
  ASSERT_EQ(d.calls().size(), 1u);
  EXPECT_EQ(d.calls()[0], R"(wasi_host_call-id|kubewarden/test/echo|{"greeting":"hello"})");
}

TEST_F(WasiRuntimeTest, HostCallReplyIsWhatTheGuestReports) {
  RecordingDispatcher d;
  WasiCommand cmd;
  cmd.argv = {"policy.wasm", "validate"};
  cmd.stdin_data = validationPayload(own(podRequest("uid", false)).json, R"({"k":"v"})");
  cmd.dispatcher = &d;
  cmd.policy_id = "raw-run";
  auto run = runWasiCommand(*engine(), module("wasi_host_call")->compiled, cmd);
  ASSERT_FALSE(run.failure) << describeWasiFailure(run);
  EXPECT_EQ(Json::parse(run.stdout_data),
            Json({{"accepted", true}, {"message", R"({"k":"v"})"}}));
  ASSERT_EQ(d.calls().size(), 1u);
  EXPECT_EQ(d.calls()[0], R"(raw-run|kubewarden/test/echo|{"k":"v"})");
}

TEST_F(WasiRuntimeTest, HostCallErrorArrivesOnStdin) {
  FailingDispatcher d;
  auto r = validate(config("wasi_host_call"), podRequest("uid-fail", false), &d);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["allowed"], false);
  EXPECT_EQ(statusMessage(*r), "host error: the cluster is unreachable");
}

TEST_F(WasiRuntimeTest, HostCallWithoutDispatcherIsAnError) {
  auto r = validate(config("wasi_host_call"), podRequest("uid-none", false), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["allowed"], false);
  EXPECT_EQ(statusMessage(*r), "host error: host capabilities are not available");
}

TEST_F(WasiRuntimeTest, HostCallWithBadPointerFailsTheRun) {
  RecordingDispatcher d;
  auto policy = config("wasi_bad_pointer");
  auto r = validate(policy, podRequest("uid-bad", false), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "program exited with code None; stderr set to '', error: 'invalid guest memory "
            "access in host.call'");
  EXPECT_TRUE(d.calls().empty());
  // The thread stays usable for the next evaluation.
  auto next = validate(config("wasi_pod_privileged"), podRequest("uid-next", true));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ((*next)["allowed"], false);
}

// --- failures ---------------------------------------------------------------------------------

TEST_F(WasiRuntimeTest, NonZeroExitReportsStatusAndStderr) {
  auto r = validate(config("wasi_exit_nonzero"), podRequest("uid-exit", false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "program exited with code Some(3); stderr set to 'boom', error: 'Exited with i32 "
            "exit status 3'");
}

TEST_F(WasiRuntimeTest, NonZeroExitInvalidatesSettings) {
  auto s = runtime_.validateSettings(config("wasi_exit_nonzero"), invocation());
  EXPECT_FALSE(s.valid);
  EXPECT_NE(s.message.value_or("").find("program exited with code Some(3)"), std::string::npos);
  EXPECT_NE(s.message.value_or("").find("boom"), std::string::npos);
}

TEST_F(WasiRuntimeTest, DeadlineStopsAnEndlessLoop) {
  auto req = own(podRequest("uid-loop", false));
  auto start = Clock::now();
  auto r = runtime_.validate(config("wasi_endless_loop"), req.view(),
                             invocation(nullptr, std::chrono::milliseconds(200)));
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(kDeadlineText), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("program exited with code None;", 0), 0u)
      << r.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(WasiRuntimeTest, MissingStartIsReported) {
  // The smallest valid module: no imports, no exports.
  const std::vector<uint8_t> empty = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  auto loaded = loadModule(*engine(), empty);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  PolicyConfig policy;
  policy.id = "empty";
  policy.module = *loaded;
  policy.mode = ExecutionMode::Wasi;
  auto r = validate(policy, podRequest("uid-empty", false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot find `_start` function inside of module");
  auto s = runtime_.validateSettings(policy, invocation());
  EXPECT_FALSE(s.valid);
  EXPECT_EQ(s.message.value_or(""), "cannot find `_start` function inside of module");
}

TEST_F(WasiRuntimeTest, WapcReactorHasNoStart) {
  auto policy = config("wasi_pod_privileged");
  policy.module = [] {
    auto bytes = test::readFile(test::guestPath("pod_privileged"));
    auto loaded = loadModule(*engine(), bytes);
    EXPECT_TRUE(loaded.ok());
    return loaded ? *loaded : nullptr;
  }();
  ASSERT_TRUE(policy.module);
  auto r = validate(policy, podRequest("uid-reactor", false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot find `_start` function inside of module");
}

TEST_F(WasiRuntimeTest, UnreadableReplyCannotBeDeserialized) {
  auto r = validate(config("wasi_bad_reply"), podRequest("uid-reply", false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("Cannot deserialize policy validation response: ", 0), 0u)
      << r.error().message;
  auto s = runtime_.validateSettings(config("wasi_bad_reply"), invocation());
  EXPECT_FALSE(s.valid);
  EXPECT_FALSE(s.message.value_or("").empty());
}

TEST_F(WasiRuntimeTest, RunCapturesArgvStdoutAndStderr) {
  WasiCommand cmd;
  cmd.argv = {"policy.wasm", "frobnicate"};
  auto run = runWasiCommand(*engine(), module("wasi_pod_privileged")->compiled, cmd);
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->kind, wasm::FailKind::Exit);
  EXPECT_EQ(run.failure->exit_code, 2);
  EXPECT_EQ(run.stderr_data, "unknown action: frobnicate\n");
  EXPECT_EQ(run.stdout_data, "");
  EXPECT_EQ(describeWasiFailure(run),
            "program exited with code Some(2); stderr set to 'unknown action: frobnicate\n', "
            "error: 'Exited with i32 exit status 2'");
}

// --- through the Evaluator --------------------------------------------------------------------

TEST_F(WasiRuntimeTest, EvaluatorDispatchesWasiPolicies) {
  RecordingDispatcher d;
  Evaluator evaluator(engine(), &d, std::chrono::seconds(5));
  evaluator.setRuntime(ExecutionMode::Wasi, std::make_shared<WasiRuntime>());

  auto privileged = own(podRequest("uid-e1", true));
  auto r = evaluator.validate(config("wasi_pod_privileged"), privileged.view());
  EXPECT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(statusMessage(r), kPrivilegedMessage);

  auto failing = own(podRequest("uid-e2", false));
  auto e = evaluator.validate(config("wasi_exit_nonzero"), failing.view());
  EXPECT_EQ(e["allowed"], false);
  EXPECT_EQ(e["uid"], "uid-e2");
  EXPECT_EQ(e["status"]["code"], 500);
  EXPECT_EQ(statusMessage(e),
            "internal server error: program exited with code Some(3); stderr set to 'boom', "
            "error: 'Exited with i32 exit status 3'");

  auto settings = evaluator.validateSettings(
      config("wasi_settings_check", R"({"required_annotation":"owner"})"));
  EXPECT_TRUE(settings.valid) << settings.message.value_or("");
}

TEST_F(WasiRuntimeTest, EvaluatorDeadlineAppliesToWasiPolicies) {
  Evaluator evaluator(engine(), nullptr, std::chrono::milliseconds(200));
  evaluator.setRuntime(ExecutionMode::Wasi, std::make_shared<WasiRuntime>());
  auto req = own(podRequest("uid-e3", false));
  auto r = evaluator.validate(config("wasi_endless_loop"), req.view());
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(r["status"]["code"], 500);
  EXPECT_NE(statusMessage(r).find(kDeadlineText), std::string::npos) << r.dump();
}

// Every call gets a fresh instance and WASI state, so concurrent evaluations never see each
// other's stdin, stdout or host-call replies.
TEST_F(WasiRuntimeTest, ConcurrentRunsAreIsolated) {
  RecordingDispatcher d;
  auto echo = module("wasi_host_call");
  auto privileged = module("wasi_pod_privileged");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string tag = std::to_string(t) + "-" + std::to_string(i);
        PolicyConfig p = config("wasi_host_call", R"({"tag":")" + tag + R"("})");
        p.module = echo;
        auto r = validate(p, podRequest("uid-" + tag, false), &d);
        bool echoed = r.ok() && statusMessage(*r) == R"({"tag":")" + tag + R"("})";
        if (!echoed || (*r)["uid"] != "uid-" + tag) ++mismatches;
        PolicyConfig q = config("wasi_pod_privileged");
        q.module = privileged;
        auto v = validate(q, podRequest("uid-p" + tag, i % 2 == 0));
        if (!v.ok() || (*v)["allowed"] != (i % 2 != 0)) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  auto calls = d.calls();
  ASSERT_EQ(calls.size(), 40u);
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 10; ++i) {
      std::string tag = std::to_string(t) + "-" + std::to_string(i);
      std::string expected = R"(wasi_host_call-id|kubewarden/test/echo|{"tag":")" + tag + R"("})";
      EXPECT_EQ(std::count(calls.begin(), calls.end(), expected), 1) << expected;
    }
  }
}

TEST_F(WasiRuntimeTest, ImportsIncludeHostCallAndWasiUnstableAliases) {
  const auto& set = wasiPolicyImports();
  const wasm::HostFunction* call = set.find("host", "call");
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->type.params.size(), 8u);
  ASSERT_EQ(call->type.results.size(), 1u);
  EXPECT_NE(set.find("wasi_snapshot_preview1", "fd_read"), nullptr);
  EXPECT_NE(set.find("wasi_unstable", "fd_write"), nullptr);
  EXPECT_NE(set.find("wasi_unstable", "proc_exit"), nullptr);
  // Its whence encoding changed between the snapshots, so it is deliberately not aliased.
  EXPECT_EQ(set.find("wasi_unstable", "fd_seek"), nullptr);
}

}  // namespace
}  // namespace kw::policy
