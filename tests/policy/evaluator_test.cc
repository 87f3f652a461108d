// The Evaluator on our own guests (guest/policies): verdicts, mutations as patches, settings
// validation, and every runtime failure turned into a 500 rejection that leaves the thread fit
// for the next evaluation (spec §1.7, §2.2, §2.8).
#include "policy/evaluator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "host/default_dispatcher.h"
#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::policy {
namespace {

using admission::Json;
using admission::OrderedJson;
using Clock = std::chrono::steady_clock;

constexpr char kPrivilegedMessage[] = "Privileged container is not allowed";
constexpr char kTimeoutMessage[] =
    "internal server error: Guest call failure: guest code interrupted, execution deadline "
    "exceeded";
constexpr char kMutatedLabel[] = "kubewarden.io/mutated";

using kw::test::base64Decode;

// A request that owns its text; Request only views it.
struct OwnedRequest {
  std::string json;
  std::string uid;
  Request view() const { return Request{json, uid, nullptr}; }
};

OwnedRequest ownRequest(const Json& j) {
  return {j.dump(), j.value("uid", "")};
}

OwnedRequest fixtureRequest(const std::string& relative) {
  auto bytes = test::readFile(test::sharedDir() / "fixtures" / "requests" / relative);
  return ownRequest(Json::parse(bytes.begin(), bytes.end()));
}

// A CREATE Pod AdmissionRequest; `privileged` marks its single container privileged.
Json podRequest(const std::string& uid, bool privileged, Json labels = Json::object()) {
  Json container = {{"name", "c"}, {"image", "nginx"}};
  if (privileged) container["securityContext"] = {{"privileged", true}};
  return {
      {"uid", uid},
      {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
      {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
      {"operation", "CREATE"},
      {"namespace", "default"},
      {"name", "web"},
      {"userInfo", {{"username", "alice"}}},
      {"object",
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", "web"}, {"namespace", "default"}, {"labels", labels}}},
        {"spec", {{"containers", Json::array({container})}}}}},
  };
}

// Decodes a response's patch and applies it to `base`.
Json applyPatch(const OrderedJson& response, const Json& base) {
  EXPECT_EQ(response.value("patchType", ""), "JSONPatch") << response.dump();
  Json patch = Json::parse(base64Decode(response.value("patch", "")), nullptr, false);
  EXPECT_TRUE(patch.is_array()) << response.dump();
  if (!patch.is_array()) return nullptr;
  return base.patch(patch);
}

std::string statusMessage(const OrderedJson& r) {
  if (!r.contains("status") || !r["status"].contains("message")) return "";
  return r["status"]["message"].get<std::string>();
}

int statusCode(const OrderedJson& r) {
  if (!r.contains("status") || !r["status"].contains("code")) return 0;
  return r["status"]["code"].get<int>();
}

// Echoes every host call's payload back and remembers what it was asked.
class EchoDispatcher : public host::Dispatcher {
 public:
  Result<std::string> dispatch(const host::HostCall& call) override {
    std::lock_guard lock(mu_);
    seen_.push_back(std::string(call.policy_id) + "|" + std::string(call.binding) + "/" +
                    std::string(call.ns) + "/" + std::string(call.operation));
    return std::string(call.payload);
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> seen_;
};

class EvaluatorTest : public ::testing::Test {
 protected:
  // One engine for the suite: V8 is process-wide, and compiling each guest once keeps the
  // suite fast.
  static std::shared_ptr<wasm::Engine> engine() {
    static auto e = wasm::createV8Engine({wasm::CompileTier::Optimized, 256ull << 20});
    return e;
  }

  // A 16 MiB-capped engine for the memory tests; modules are compiled against their engine.
  static std::shared_ptr<wasm::Engine> smallEngine() {
    static auto e = wasm::createV8Engine({wasm::CompileTier::Optimized, 16ull << 20});
    return e;
  }

  static PolicyModulePtr module(const std::string& name, wasm::Engine& eng) {
    static std::mutex mu;
    static std::map<std::pair<wasm::Engine*, std::string>, PolicyModulePtr> cache;
    std::lock_guard lock(mu);
    auto& slot = cache[{&eng, name}];
    if (!slot) {
      auto bytes = test::readFile(test::guestPath(name));
      EXPECT_FALSE(bytes.empty()) << "guest not built: " << test::guestPath(name);
      auto loaded = loadModule(eng, bytes);
      EXPECT_TRUE(loaded.ok()) << name << ": " << (loaded ? "" : loaded.error().message);
      if (loaded) slot = *loaded;
    }
    return slot;
  }

  static PolicyConfig config(const std::string& name, const std::string& settings = "{}",
                             wasm::Engine* eng = nullptr) {
    PolicyConfig c;
    c.id = name;
    c.module = module(name, eng ? *eng : *engine());
    c.settings_json = settings;
    return c;
  }

  void SetUp() override {
    for (const char* g : {"pod_privileged", "add_label", "settings_check"}) {
      if (!std::filesystem::exists(test::guestPath(g))) FAIL() << "missing " << test::guestPath(g);
    }
  }

  host::DefaultDispatcher default_dispatcher_;
  Evaluator evaluator_{engine(), &default_dispatcher_, std::chrono::seconds(5)};
};

// --- pod_privileged --------------------------------------------------------------------------

TEST_F(EvaluatorTest, PodPrivilegedFixtures) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared absent";
  auto policy = config("pod_privileged");
  for (const char* rejected : {"pod-privileged/privileged_container.json",
                               "pod-privileged/privileged_init_container.json"}) {
    auto req = fixtureRequest(rejected);
    auto r = evaluator_.validate(policy, req.view());
    EXPECT_EQ(r["allowed"], false) << rejected << ": " << r.dump();
    EXPECT_EQ(statusMessage(r), kPrivilegedMessage) << rejected;
    EXPECT_EQ(r["uid"], req.uid);
    EXPECT_FALSE(r["status"].contains("code")) << r.dump();
  }
  auto ok = fixtureRequest("pod-privileged/no_privileged_containers.json");
  auto r = evaluator_.validate(policy, ok.view());
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_FALSE(r.contains("status")) << r.dump();
  EXPECT_EQ(r["uid"], ok.uid);
}

TEST_F(EvaluatorTest, UidIsCopiedFromTheRequest) {
  auto policy = config("pod_privileged");
  for (bool privileged : {false, true}) {
    auto req = ownRequest(podRequest("uid-evaluator-" + std::to_string(privileged), privileged));
    auto r = evaluator_.validate(policy, req.view());
    EXPECT_EQ(r["uid"], req.uid);
    EXPECT_EQ(r["allowed"], !privileged) << r.dump();
    EXPECT_TRUE(r.contains("auditAnnotations") && r.contains("warnings")) << r.dump();
  }
}

TEST_F(EvaluatorTest, InvalidRequestJsonIsAGuestCallFailure) {
  auto r = evaluator_.validate(config("pod_privileged"), Request{"{not json", "u-bad", nullptr});
  EXPECT_EQ(r["uid"], "u-bad");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusCode(r), 500) << r.dump();
  EXPECT_TRUE(statusMessage(r).starts_with("internal server error: Guest call failure: "))
      << r.dump();
}

TEST_F(EvaluatorTest, ProtocolVersionIsV1) {
  auto v = evaluator_.protocolVersion(config("pod_privileged"));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, "v1");
}

TEST_F(EvaluatorTest, UnsupportedExecutionModeIsA500NotACrash) {
  auto policy = config("pod_privileged");
  policy.mode = ExecutionMode::Opa;
  auto req = ownRequest(podRequest("u-opa", true));
  auto r = evaluator_.validate(policy, req.view());
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusCode(r), 500) << r.dump();
  EXPECT_EQ(r["uid"], "u-opa");
}

// --- add_label (mutation) --------------------------------------------------------------------

TEST_F(EvaluatorTest, AddLabelPatchAddsTheLabel) {
  Json request = podRequest("u-mut", false, {{"app", "web"}});
  auto req = ownRequest(request);
  auto r = evaluator_.validate(config("add_label"), req.view());
  EXPECT_EQ(r["allowed"], true) << r.dump();
  Json patched = applyPatch(r, request["object"]);
  EXPECT_EQ(patched["metadata"]["labels"], Json({{"app", "web"}, {kMutatedLabel, "true"}}));
  // Nothing but the label changes.
  Json expected = request["object"];
  expected["metadata"]["labels"][kMutatedLabel] = "true";
  EXPECT_EQ(patched, expected);
}

TEST_F(EvaluatorTest, AddLabelCreatesMissingLabelsMap) {
  Json request = podRequest("u-nolabels", false);
  request["object"]["metadata"].erase("labels");
  auto req = ownRequest(request);
  auto r = evaluator_.validate(config("add_label"), req.view());
  Json patched = applyPatch(r, request["object"]);
  EXPECT_EQ(patched["metadata"]["labels"], Json({{kMutatedLabel, "true"}}));
}

TEST_F(EvaluatorTest, AddLabelUsesTheProvidedDom) {
  // The caller's parsed DOM is the diff base when given, so it must give the same answer.
  Json request = podRequest("u-dom", false, {{"tier", "front"}});
  auto req = ownRequest(request);
  Request with_dom{req.json, req.uid, &request};
  auto from_dom = evaluator_.validate(config("add_label"), with_dom);
  auto from_text = evaluator_.validate(config("add_label"), req.view());
  EXPECT_EQ(from_dom.dump(), from_text.dump());
  EXPECT_TRUE(from_dom.contains("patch"));
}

TEST_F(EvaluatorTest, AddLabelOnAlreadyLabelledObjectGivesNoPatch) {
  auto req = ownRequest(podRequest("u-same", false, {{kMutatedLabel, "true"}}));
  auto r = evaluator_.validate(config("add_label"), req.view());
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_FALSE(r.contains("patch")) << r.dump();
  EXPECT_FALSE(r.contains("patchType")) << r.dump();
}

TEST_F(EvaluatorTest, AddLabelOnDeleteWithoutObjectIsAccepted) {
  Json request = podRequest("u-del", false);
  request["operation"] = "DELETE";
  request["object"] = nullptr;
  request["oldObject"] = podRequest("x", false)["object"];
  auto req = ownRequest(request);
  auto r = evaluator_.validate(config("add_label"), req.view());
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_FALSE(r.contains("patch"));
  EXPECT_EQ(r["uid"], "u-del");
}

// --- settings_check --------------------------------------------------------------------------

TEST_F(EvaluatorTest, SettingsCheckValidatesSettings) {
  auto empty = evaluator_.validateSettings(config("settings_check", "{}"));
  EXPECT_FALSE(empty.valid);
  EXPECT_EQ(empty.message, "required_annotation must be a non-empty string");
  EXPECT_FALSE(
      evaluator_.validateSettings(config("settings_check", R"({"required_annotation": 5})")).valid);
  auto good =
      evaluator_.validateSettings(config("settings_check", R"({"required_annotation":"owner"})"));
  EXPECT_TRUE(good.valid) << good.message.value_or("");
}

TEST_F(EvaluatorTest, SettingsCheckRejectsMissingAnnotation) {
  auto policy = config("settings_check", R"({"required_annotation":"owner"})");
  Json request = podRequest("u-ann", false);
  auto missing = ownRequest(request);
  auto r = evaluator_.validate(policy, missing.view());
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusMessage(r), "missing required annotation: owner") << r.dump();

  request["object"]["metadata"]["annotations"] = {{"owner", "team-a"}};
  auto present = ownRequest(request);
  EXPECT_EQ(evaluator_.validate(policy, present.view())["allowed"], true);
}

TEST_F(EvaluatorTest, GuestsWithoutSettingsValidationAcceptAnySettings) {
  auto v = evaluator_.validateSettings(config("pod_privileged", R"({"anything": [1, 2]})"));
  EXPECT_TRUE(v.valid) << v.message.value_or("");
}

// --- failures --------------------------------------------------------------------------------

TEST_F(EvaluatorTest, EndlessLoopHitsTheDeadlineAndThreadStaysUsable) {
  Evaluator evaluator(engine(), &default_dispatcher_, std::chrono::milliseconds(200));
  auto req = ownRequest(podRequest("u-loop", false));
  auto t0 = Clock::now();
  auto r = evaluator.validate(config("endless_loop"), req.view());
  auto elapsed = Clock::now() - t0;
  EXPECT_EQ(r["uid"], "u-loop");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusCode(r), 500) << r.dump();
  EXPECT_EQ(statusMessage(r), kTimeoutMessage);
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  EXPECT_LT(elapsed, std::chrono::seconds(1));

  // A stale termination request must not leak into the next call on this isolate.
  auto priv = ownRequest(podRequest("u-after", true));
  auto next = evaluator.validate(config("pod_privileged"), priv.view());
  EXPECT_EQ(next["allowed"], false) << next.dump();
  EXPECT_EQ(statusMessage(next), kPrivilegedMessage);
  auto ok = ownRequest(podRequest("u-after-ok", false));
  EXPECT_EQ(evaluator.validate(config("pod_privileged"), ok.view())["allowed"], true);
}

// Extracts N from "... memory.grow refused after N MiB".
int refusedAfterMiB(const std::string& message) {
  std::smatch m;
  if (!std::regex_search(message, m, std::regex("memory\\.grow refused after ([0-9]+) MiB"))) {
    return -1;
  }
  return std::stoi(m[1]);
}

TEST_F(EvaluatorTest, MemoryHogIsCappedByTheEngine) {
  Evaluator evaluator(smallEngine(), &default_dispatcher_, std::chrono::seconds(10));
  auto req = ownRequest(podRequest("u-hog", false));
  auto r = evaluator.validate(config("memory_hog", "{}", smallEngine().get()), req.view());
  EXPECT_EQ(r["allowed"], false) << r.dump();
  std::string message = statusMessage(r);
  EXPECT_NE(message.find("memory.grow refused"), std::string::npos) << r.dump();
  int mib = refusedAfterMiB(message);
  EXPECT_GE(mib, 1) << message;  // the cap is well above the guest's initial memory
  EXPECT_LE(mib, 16) << message;
}

TEST_F(EvaluatorTest, EveryEvaluationGetsAFreshInstance) {
  // memory_hog leaves its memory fully grown: a reused instance would have nothing left to
  // grow, so identical reports prove each evaluation starts from a fresh instance.
  Evaluator evaluator(smallEngine(), &default_dispatcher_, std::chrono::seconds(10));
  auto policy = config("memory_hog", "{}", smallEngine().get());
  auto req = ownRequest(podRequest("u-fresh", false));
  int first = refusedAfterMiB(statusMessage(evaluator.validate(policy, req.view())));
  int second = refusedAfterMiB(statusMessage(evaluator.validate(policy, req.view())));
  EXPECT_GE(first, 1);
  EXPECT_EQ(first, second);

  // The same guest on one reused Session sees the memory it grew the first time.
  auto session = evaluator.openSession(policy);
  ASSERT_TRUE(session.ok()) << session.error().message;
  int reused_first =
      refusedAfterMiB(statusMessage(evaluator.validate(policy, req.view(), &*session)));
  int reused_second =
      refusedAfterMiB(statusMessage(evaluator.validate(policy, req.view(), &*session)));
  EXPECT_EQ(reused_first, first);
  EXPECT_EQ(reused_second, 0);
}

TEST_F(EvaluatorTest, TrapIsA500MentioningUnreachable) {
  auto req = ownRequest(podRequest("u-trap", false));
  auto r = evaluator_.validate(config("trap"), req.view());
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusCode(r), 500) << r.dump();
  std::string message = statusMessage(r);
  EXPECT_TRUE(message.starts_with("internal server error: Guest call failure:")) << message;
  EXPECT_NE(message.find("unreachable"), std::string::npos) << message;
  auto ok = ownRequest(podRequest("u-after-trap", false));
  EXPECT_EQ(evaluator_.validate(config("pod_privileged"), ok.view())["allowed"], true);
}

TEST_F(EvaluatorTest, BadPointerIsA500AndTheProcessSurvives) {
  auto req = ownRequest(podRequest("u-ptr", false));
  auto r = evaluator_.validate(config("bad_pointer"), req.view());
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(statusCode(r), 500) << r.dump();
  std::string message = statusMessage(r);
  EXPECT_TRUE(message.starts_with("internal server error: ")) << message;
  EXPECT_NE(message.find("__guest_response"), std::string::npos) << message;

  auto priv = ownRequest(podRequest("u-after-ptr", true));
  auto next = evaluator_.validate(config("pod_privileged"), priv.view());
  EXPECT_EQ(statusMessage(next), kPrivilegedMessage) << next.dump();
}

// --- host calls ------------------------------------------------------------------------------

TEST_F(EvaluatorTest, HostEchoWithDefaultDispatcherReportsNotAvailable) {
  auto req = ownRequest(podRequest("u-echo", false));
  auto r = evaluator_.validate(config("host_echo", R"({"ping":"pong"})"), req.view());
  EXPECT_EQ(r["allowed"], false) << r.dump();
  std::string message = statusMessage(r);
  EXPECT_NE(message.find("not available"), std::string::npos) << message;
  EXPECT_NE(message.find("kubewarden/test/echo"), std::string::npos) << message;
}

TEST_F(EvaluatorTest, HostEchoWithCustomDispatcherEchoesSettings) {
  EchoDispatcher echo;
  Evaluator evaluator(engine(), &echo, std::chrono::seconds(5));
  auto policy = config("host_echo", R"({"ping":"pong","n":[1,2]})");
  policy.id = "echo-policy";
  auto req = ownRequest(podRequest("u-echo2", false));
  auto r = evaluator.validate(policy, req.view());
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_EQ(Json::parse(statusMessage(r), nullptr, false),
            Json::parse(R"({"ping":"pong","n":[1,2]})"))
      << r.dump();
  EXPECT_EQ(echo.seen(), std::vector<std::string>{"echo-policy|kubewarden/test/echo"});
}

// --- sessions, raw policies, threads ---------------------------------------------------------

TEST_F(EvaluatorTest, SessionReuseGivesTheSameAnswersAsFresh) {
  auto policy = config("pod_privileged");
  auto session = evaluator_.openSession(policy);
  ASSERT_TRUE(session.ok()) << session.error().message;
  for (int i = 0; i < 6; ++i) {
    auto req = ownRequest(podRequest("u-s" + std::to_string(i), i % 2 == 0));
    auto fresh = evaluator_.validate(policy, req.view());
    auto reused = evaluator_.validate(policy, req.view(), &*session);
    EXPECT_EQ(reused.dump(), fresh.dump());
    EXPECT_EQ(reused["allowed"], i % 2 != 0);
  }
}

TEST_F(EvaluatorTest, RawPolicyReceivesTheRawJsonAsRequest) {
  // Not an AdmissionRequest: no uid, kind or operation, only what pod_privileged looks at.
  auto policy = config("pod_privileged");
  policy.raw = true;
  Json raw = {{"object",
               {{"kind", "Pod"},
                {"spec",
                 {{"containers", Json::array({{{"name", "c"},
                                               {"securityContext", {{"privileged", true}}}}})}}}}}};
  auto req = ownRequest(raw);
  auto r = evaluator_.validate(policy, Request{req.json, "raw-uid", nullptr});
  EXPECT_EQ(r["uid"], "raw-uid");
  EXPECT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(statusMessage(r), kPrivilegedMessage);
}

TEST_F(EvaluatorTest, RawPolicyMutationIsDiffedAgainstTheWholeRequest) {
  // Upstream diffs a raw policy's mutated_object against the whole raw request.
  auto policy = config("add_label");
  policy.raw = true;
  Json raw = {{"object", {{"metadata", {{"name", "x"}}}}}, {"extra", 1}};
  auto req = ownRequest(raw);
  auto r = evaluator_.validate(policy, Request{req.json, "", nullptr});
  EXPECT_EQ(r["allowed"], true) << r.dump();
  Json mutated = {{"metadata", {{"name", "x"}, {"labels", {{kMutatedLabel, "true"}}}}}};
  EXPECT_EQ(applyPatch(r, raw), mutated);
}

TEST_F(EvaluatorTest, ConcurrentEvaluationsAreAllCorrect) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  auto privileged = config("pod_privileged");
  auto labeller = config("add_label");
  std::atomic<int> wrong{0};
  std::mutex mu;
  std::string first_failure;
  auto note = [&](const std::string& what) {
    if (wrong.fetch_add(1) == 0) {
      std::lock_guard lock(mu);
      first_failure = what;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string uid = "t" + std::to_string(t) + "-" + std::to_string(i);
        bool priv = (i + t) % 2 == 0;
        auto req = ownRequest(podRequest(uid, priv));
        auto r = evaluator_.validate(privileged, req.view());
        if (r["uid"] != uid || r["allowed"] != !priv ||
            (priv && statusMessage(r) != kPrivilegedMessage)) {
          note(r.dump());
        }
        if (i % 10 == 0) {
          auto m = evaluator_.validate(labeller, req.view());
          if (m["uid"] != uid || !m.contains("patch")) note(m.dump());
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(wrong.load(), 0) << "first wrong answer: " << first_failure;
}

}  // namespace
}  // namespace kw::policy
