// The policy-server binary, end to end over real HTTP and HTTPS on loopback, on every engine
// the build has (--engine).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/engines.h"
#include "support/server_process.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

using nlohmann::json;

std::string review(const std::string& uid, const std::string& ns, bool privileged,
                   const std::string& operation = "CREATE") {
  json container = {{"name", "c"}, {"image", "nginx"}};
  if (privileged) container["securityContext"] = {{"privileged", true}};
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "p-" + uid}, {"namespace", ns}, {"labels", {{"a", "b"}}}}},
              {"spec", {{"containers", json::array({container})}}}};
  json req = {{"uid", uid},
              {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
              {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
              {"requestKind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
              {"name", "p-" + uid},
              {"namespace", ns},
              {"operation", operation},
              {"userInfo", {{"username", "alice"}}},
              {"object", pod}};
  return json(
             {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", req}})
      .dump();
}

std::string policiesYml() {
  auto g = [](const char* name) { return guestPath(name).string(); };
  return "privileged:\n  url: " + g("pod_privileged") +
         "\n"
         "privileged-monitor:\n  url: file://" +
         g("pod_privileged") +
         "\n  policyMode: monitor\n"
         "mutate-allowed:\n  url: " +
         g("add_label") +
         "\n  allowedToMutate: true\n"
         "mutate-refused:\n  url: " +
         g("add_label") +
         "\n"
         "loop:\n  url: " +
         g("endless_loop") +
         "\n"
         "hog:\n  url: " +
         g("memory_hog") +
         "\n"
         "annotation:\n  url: " +
         g("settings_check") + "\n  settings:\n    required_annotation: owner\n";
}

json responseOf(const HttpResult& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("response") ? j["response"] : json();
}

// Tests parametrised on the engine's name: args() puts `--engine <name>` before the test's own.
class EngineParamTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::vector<std::string> args(std::vector<std::string> more = {}) const {
    more.insert(more.begin(), {"--engine", GetParam()});
    return more;
  }
};

// Waits until the server's busy-workers gauge reaches `n` (evaluations running now).
bool waitForBusyWorkers(const ServerProcess& server, uint16_t metrics_port, int n) {
  const std::string gauge = "kubewarden_policy_server_busy_workers ";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string body = server.getOnPort(metrics_port, "/metrics").body;
    auto at = body.find("\n" + gauge);
    if (at != std::string::npos && std::stoi(body.substr(at + 1 + gauge.size())) >= n) return true;
    std::this_thread::yield();
  }
  return false;
}

class PolicyServerE2E : public EngineParamTest {
 protected:
  // One server per engine, started by the suite's first test on that engine and shared by the
  // rest (a boot compiles every policy).
  void SetUp() override {
    auto& [server, ready] = servers()[GetParam()];
    if (!server) {
      metrics_ports()[GetParam()] = freePort();
      server = std::make_unique<ServerProcess>(
          policiesYml(),
          args({"--workers", "2", "--policy-timeout", "1",
                "--always-accept-admission-reviews-on-namespace", "kube-system", "--enable-metrics",
                "--metrics-port", std::to_string(metrics_ports()[GetParam()])}));
      ready = server->waitReady();
    }
    server_ = server.get();
    ASSERT_TRUE(ready) << server_->log();
  }
  static void TearDownTestSuite() { servers().clear(); }
  // Each engine's shared server has its own metrics port.
  static std::map<std::string, uint16_t>& metrics_ports() {
    static std::map<std::string, uint16_t> by_engine;
    return by_engine;
  }
  uint16_t metricsPort() const { return metrics_ports()[GetParam()]; }

  static std::map<std::string, std::pair<std::unique_ptr<ServerProcess>, bool>>& servers() {
    static std::map<std::string, std::pair<std::unique_ptr<ServerProcess>, bool>> by_engine;
    return by_engine;
  }

  ServerProcess* server_ = nullptr;
};
KW_INSTANTIATE_FOR_ENGINES(PolicyServerE2E);

TEST_P(PolicyServerE2E, ReadinessAndValidate) {
  EXPECT_EQ(server_->get("/readiness").status, 200);
  auto r = server_->post("/validate/privileged", review("u1", "default", true));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "AdmissionReview");
  EXPECT_EQ(body["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(body["response"]["uid"], "u1");
  EXPECT_EQ(body["response"]["allowed"], false);
  EXPECT_EQ(body["response"]["status"]["message"], "Privileged container is not allowed");
  auto ok = responseOf(server_->post("/validate/privileged", review("u2", "default", false)));
  EXPECT_EQ(ok["allowed"], true);
}

TEST_P(PolicyServerE2E, ValidateRawAndAudit) {
  json raw = {{"request", {{"uid", "raw-1"}, {"hello", "world"}}}};
  auto r = server_->post("/validate_raw/privileged", raw.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body);
  EXPECT_TRUE(body.contains("response"));
  EXPECT_FALSE(body.contains("kind")) << "raw answers carry no kind/apiVersion";

  // /audit reports the vanilla verdict even for a monitor-mode policy.
  auto audit = responseOf(server_->post("/audit/privileged-monitor", review("a1", "d", true)));
  EXPECT_EQ(audit["allowed"], false);
}

TEST_P(PolicyServerE2E, MonitorModeAllowsButProtectRejects) {
  auto monitor =
      responseOf(server_->post("/validate/privileged-monitor", review("m1", "default", true)));
  EXPECT_EQ(monitor["allowed"], true);
  EXPECT_FALSE(monitor.contains("status"));
  auto protect = responseOf(server_->post("/validate/privileged", review("m2", "default", true)));
  EXPECT_EQ(protect["allowed"], false);
}

TEST_P(PolicyServerE2E, MutationAllowedAndRefused) {
  auto allowed = responseOf(server_->post("/validate/mutate-allowed", review("x1", "d", false)));
  EXPECT_EQ(allowed["allowed"], true);
  EXPECT_EQ(allowed["patchType"], "JSONPatch");
  EXPECT_FALSE(allowed.value("patch", "").empty());

  auto refused = responseOf(server_->post("/validate/mutate-refused", review("x2", "d", false)));
  EXPECT_EQ(refused["allowed"], false);
  EXPECT_FALSE(refused.contains("patch"));
  EXPECT_EQ(refused["status"]["message"],
            "Request rejected by policy mutate-refused. The policy attempted to mutate the "
            "request, but it is currently configured to not allow mutations.");
}

TEST_P(PolicyServerE2E, AlwaysAcceptNamespace) {
  auto r = responseOf(server_->post("/validate/privileged", review("k1", "kube-system", true)));
  EXPECT_EQ(r["allowed"], true);
  EXPECT_FALSE(r.contains("status"));
}

TEST_P(PolicyServerE2E, UnknownPolicyIs404) {
  auto r = server_->post("/validate/nope", review("n1", "d", false));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body), json({{"message", "unknown policy: nope"}, {"status", 404}}));
}

TEST_P(PolicyServerE2E, MalformedAndOversizedBodies) {
  auto bad = server_->post("/validate/privileged", "{not json");
  EXPECT_EQ(bad.status, 400) << bad.body;
  auto wrong_type = server_->post("/validate/privileged", review("t", "d", false), "text/plain");
  EXPECT_EQ(wrong_type.status, 415) << wrong_type.body;
  auto not_review = server_->post("/validate/privileged", R"({"request": 5})");
  EXPECT_EQ(not_review.status, 422) << not_review.body;
  std::string huge(12 << 20, 'x');
  auto big = server_->post("/validate/privileged", "{\"pad\":\"" + huge + "\"}");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(server_->get("/readiness").status, 200) << "the server keeps serving";
}

TEST_P(PolicyServerE2E, LoopingPolicyTimesOutWhileOthersAnswer) {
  std::atomic<bool> looped{false};
  json loop_answer;
  auto t0 = std::chrono::steady_clock::now();
  std::thread slow([&] {
    loop_answer = responseOf(server_->post("/validate/loop", review("l1", "d", false)));
    looped = true;
  });
  // The loop holds a worker before the other policy is asked.
  if (!waitForBusyWorkers(*server_, metricsPort(), 1)) {
    slow.join();
    FAIL() << "the looping policy never held a worker\n" << server_->log();
  }
  auto quick = responseOf(server_->post("/validate/privileged", review("q1", "d", true)));
  EXPECT_EQ(quick["allowed"], false);
  EXPECT_FALSE(looped.load()) << "the other policy answered while the loop was running";
  slow.join();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(loop_answer["allowed"], false);
  EXPECT_EQ(loop_answer["status"]["code"], 500);
  EXPECT_EQ(loop_answer["status"]["message"],
            "internal server error: Guest call failure: guest code interrupted, execution "
            "deadline exceeded");
  EXPECT_LT(elapsed, std::chrono::milliseconds(1800));
}

TEST_P(PolicyServerE2E, MemoryHogIsRejectedWithAClearMessage) {
  auto r = responseOf(server_->post("/validate/hog", review("h1", "d", false)));
  EXPECT_EQ(r["allowed"], false);
  EXPECT_NE(r["status"].value("message", "").find("memory.grow refused"), std::string::npos)
      << r.dump();
  EXPECT_EQ(server_->get("/readiness").status, 200);
}

TEST_P(PolicyServerE2E, MetricsOnlyWhenEnabled) {
  // As upstream: no --enable-metrics, no metrics.
  EXPECT_EQ(server_->get("/metrics").status, 404);
}

namespace asio = boost::asio;

TEST_P(PolicyServerE2E, MetricsCountEvaluations) {
  // The metrics port is taken (as by upstream's collector sidecar), so /metrics moves to the
  // main port; the server says so and keeps running.
  asio::io_context io;
  asio::ip::tcp::acceptor squatter(io, {asio::ip::address_v4::loopback(), 0});
  std::string taken = std::to_string(squatter.local_endpoint().port());
  ServerProcess metered(policiesYml(), args({"--enable-metrics", "--metrics-port", taken}));
  ASSERT_TRUE(metered.waitReady()) << metered.log();
  EXPECT_NE(metered.log().find("serving /metrics on the main port"), std::string::npos)
      << metered.log();
  metered.post("/validate/privileged", review("me1", "metrics-ns", true));
  auto m = metered.get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("kubewarden_policy_evaluations_total{"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("policy_name=\"privileged\""), std::string::npos);
  EXPECT_NE(m.body.find("kubewarden_policy_evaluation_latency_milliseconds_bucket"),
            std::string::npos);
  EXPECT_NE(m.body.find("process_resident_memory_bytes"), std::string::npos);
}

TEST_P(PolicyServerE2E, MixedConcurrentLoadIsAnsweredCorrectly) {
  std::atomic<int> wrong{0}, done{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 60; ++i) {
        bool privileged = (i + c) % 2 == 0;
        std::string uid = std::to_string(c) + "-" + std::to_string(i);
        const char* policy = i % 3 == 0 ? "/validate/mutate-allowed" : "/validate/privileged";
        auto r = responseOf(server_->post(policy, review(uid, "d", privileged)));
        bool expected = policy[10] == 'm' ? true : !privileged;
        if (r.value("uid", "") != uid || r.value("allowed", !expected) != expected) ++wrong;
        ++done;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(done.load(), 240);
  EXPECT_EQ(wrong.load(), 0);
}

class PolicyServerBoot : public EngineParamTest {};
KW_INSTANTIATE_FOR_ENGINES(PolicyServerBoot);

TEST_P(PolicyServerBoot, InvalidSettingsStopTheServer) {
  std::string yml = "bad:\n  url: " + guestPath("settings_check").string() + "\n";
  ServerProcess server(yml, args());
  EXPECT_FALSE(server.waitReady(30000));
  EXPECT_NE(server.waitExit(), 0);
  EXPECT_NE(server.log().find("[bad] settings are not valid:"), std::string::npos) << server.log();
}

TEST_P(PolicyServerBoot, ConfigErrorNamesTheFileAndPolicy) {
  ServerProcess server("broken:\n  policyMode: protect\n", args());
  EXPECT_FALSE(server.waitReady(30000));
  EXPECT_NE(server.waitExit(), 0);
  EXPECT_NE(server.log().find("broken"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("url"), std::string::npos) << server.log();
}

namespace fs = std::filesystem;

// The code-cache entries (<dir>/<engine build>/<sha256>.cwasm) under a download dir, with the
// time each was last written.
std::map<std::string, fs::file_time_type> cacheEntries(const fs::path& dir) {
  std::map<std::string, fs::file_time_type> entries;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".cwasm") entries[e.path().string()] = e.last_write_time();
  }
  return entries;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Issue 14: with wasmtime, compiled code is kept in --policies-download-dir, one entry per
// distinct module; the next boot loads it (the entry is not rewritten), and a damaged entry is
// replaced by a fresh compile rather than loaded. V8 has no code cache and writes nothing.
TEST_P(PolicyServerBoot, CodeCacheInTheDownloadDir) {
  fs::path dir =
      fs::temp_directory_path() / ("kw-e2e-cache-" + std::to_string(::getpid()) + "-" + GetParam());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string yml = "a:\n  url: " + guestPath("pod_privileged").string() +
                    "\nb:\n  url: " + guestPath("pod_privileged").string() +
                    "\nc:\n  url: " + guestPath("add_label").string() + "\n";
  auto boot = [&] {
    ServerProcess server(yml, args({"--policies-download-dir", dir.string()}));
    EXPECT_TRUE(server.waitReady()) << server.log();
    auto r = responseOf(server.post("/validate/a", review("cc", "d", true)));
    EXPECT_EQ(r["allowed"], false) << server.log();
    EXPECT_EQ(server.terminate(), 0) << server.log();
  };
  boot();
  auto first = cacheEntries(dir);
  if (GetParam() != "wasmtime") {
    EXPECT_TRUE(first.empty()) << GetParam() << " has no code cache";
    fs::remove_all(dir);
    return;
  }
  ASSERT_EQ(first.size(), 2u) << "one entry per distinct module";

  // Damage one entry; keep the other.
  const std::string damaged = first.begin()->first;
  const std::string kept = std::next(first.begin())->first;
  const std::string garbage = "not compiled code";
  std::ofstream(damaged, std::ios::trunc) << garbage;
  boot();
  auto second = cacheEntries(dir);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second.at(kept), first.at(kept)) << "an intact entry is loaded, not rewritten";
  std::string rebuilt = slurp(damaged);
  EXPECT_NE(rebuilt, garbage) << "a damaged entry is compiled again";
  EXPECT_GT(rebuilt.size(), 1000u);
  fs::remove_all(dir);
}

class PolicyServerTls : public EngineParamTest {};
KW_INSTANTIATE_FOR_ENGINES(PolicyServerTls);

TEST_P(PolicyServerTls, ServesHttps) {
  std::string yml = "privileged:\n  url: " + guestPath("pod_privileged").string() + "\n";
  ServerProcess server(yml, args(), /*tls=*/true);
  ASSERT_TRUE(server.waitReady()) << server.log();
  auto r = responseOf(server.post("/validate/privileged", review("tls", "d", true)));
  EXPECT_EQ(r["allowed"], false);
}

class PolicyServerShutdown : public EngineParamTest {};
KW_INSTANTIATE_FOR_ENGINES(PolicyServerShutdown);

TEST_P(PolicyServerShutdown, SigtermDrainsInFlightRequests) {
  std::string yml = "loop:\n  url: " + guestPath("endless_loop").string() +
                    "\nprivileged:\n  url: " + guestPath("pod_privileged").string() + "\n";
  // Three loops at once: each policy may hold every worker here, so none waits in the queue
  // (a queued request whose deadline passes is answered 503 without a response).
  uint16_t metrics = freePort();
  ServerProcess server(
      yml, args({"--workers", "4", "--max-workers-per-policy", "4", "--policy-timeout", "1",
                 "--enable-metrics", "--metrics-port", std::to_string(metrics)}));
  ASSERT_TRUE(server.waitReady()) << server.log();
  std::atomic<int> answered{0};
  std::vector<std::thread> inflight;
  for (int i = 0; i < 3; ++i) {
    inflight.emplace_back([&, i] {
      auto r = responseOf(server.post("/validate/loop", review("s" + std::to_string(i), "d", 0)));
      if (r.is_object() && r.value("uid", "") == "s" + std::to_string(i)) ++answered;
    });
  }
  // SIGTERM once all three are being evaluated: the drain must answer requests in flight.
  EXPECT_TRUE(waitForBusyWorkers(server, metrics, 3)) << server.log();
  int status = server.terminate();
  for (auto& t : inflight) t.join();
  EXPECT_EQ(answered.load(), 3) << "every in-flight request gets its answer";
  EXPECT_EQ(status, 0) << server.log();
}

}  // namespace
}  // namespace kw::test

namespace kw::test {
namespace {

class PolicyServerExamples : public EngineParamTest {};
KW_INSTANTIATE_FOR_ENGINES(PolicyServerExamples);

// `make run` serves examples/policies.yml; the README promises what two curl requests answer.
TEST_P(PolicyServerExamples, ReadmeCurlAnswers) {
  std::ifstream in(sourceDir() / "examples/policies.yml");
  std::string yml((std::istreambuf_iterator<char>(in)), {});
  // `make run` starts in the repository root, so relative paths work there; a relative file://
  // URL does not (its first segment is a host), and the rewrite below would hide it.
  for (size_t at = 0; (at = yml.find("file://", at)) != std::string::npos; at += 7) {
    EXPECT_EQ(yml.substr(at, 8), "file:///") << "relative file:// URL in examples/policies.yml";
  }
  // The example's paths are relative to the repository root and assume build/.
  const std::string dir = guestDir().string() + "/";
  for (size_t at = 0; (at = yml.find("build/guest/", at)) != std::string::npos;) {
    yml.replace(at, 12, dir);
    at += dir.size();  // the absolute path itself contains build/guest/
  }
  ServerProcess server(yml, args());
  ASSERT_TRUE(server.waitReady()) << server.log();
  auto request = [&](const char* file) {
    std::ifstream f(sourceDir() / "examples/requests" / file);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  };
  auto rejected =
      json::parse(server.post("/validate/pod-privileged", request("privileged-pod.json")).body);
  EXPECT_EQ(rejected["response"]["allowed"], false);
  EXPECT_EQ(rejected["response"]["status"]["message"], "Privileged container is not allowed");
  auto patched =
      json::parse(server.post("/validate/add-label", request("unprivileged-pod.json")).body);
  EXPECT_EQ(patched["response"]["allowed"], true);
  EXPECT_EQ(
      patched["response"]["patch"],
      "W3sib3AiOiJhZGQiLCJwYXRoIjoiL21ldGFkYXRhL2xhYmVscy9rdWJld2FyZGVuLmlvfjFtdXRhdGVkIiwidmFs"
      "dWUiOiJ0cnVlIn1d");
}

}  // namespace
}  // namespace kw::test
