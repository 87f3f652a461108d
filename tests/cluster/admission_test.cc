// End-to-end admission: the real kube-apiserver calls our policy-server (HTTPS, a certificate
// the test makes) through Validating- and MutatingWebhookConfigurations, reached by URL and
// through a Service whose EndpointSlice the test writes. Every request goes through kubectl and
// through our own kube client. Each test scopes its webhooks to its own namespace, so tests
// running in parallel never see each other's.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/harness_pki.h"
#include "cluster/prometheus_text.h"
#include "cluster/webhooks.h"
#include "common/yaml_json.h"
#include "support/cluster_env.h"
#include "support/server_process.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using cluster::Webhook;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr char kPrivilegedMessage[] = "Privileged container is not allowed";
constexpr char kPolicyTimeoutMessage[] = "execution deadline exceeded";
constexpr char kMutatedLabel[] = "kubewarden.io/mutated";
constexpr char kServiceName[] = "kw-policy-server";
constexpr char kServicePortName[] = "https";
// Probe Pods carry this label; only the sentinel webhooks see them.
constexpr char kSentinelLabel[] = "kubewarden.io/sentinel";

enum class Route { kUrl, kService };
void PrintTo(Route route, std::ostream* os) {
  *os << (route == Route::kUrl ? "url" : "service");
}

std::string annotatedGuest(const char* name) {
  return (guestDir() / "annotated" / (std::string(name) + ".wasm")).string();
}

std::string policiesYml() {
  return "pod-privileged:\n  url: " + annotatedGuest("pod_privileged") +
         "\n  policyMode: protect\n"
         "pod-privileged-monitor:\n  url: " +
         annotatedGuest("pod_privileged") +
         "\n  policyMode: monitor\n"
         "add-label:\n  url: " +
         annotatedGuest("add_label") +
         "\n  allowedToMutate: true\n"
         "loop:\n  url: " +
         annotatedGuest("endless_loop") + "\n";
}

json pod(const std::string& name, bool privileged, json labels = json::object()) {
  json container = {{"name", "app"}, {"image", "registry.invalid/app:1"}};
  if (privileged) container["securityContext"] = {{"privileged", true}};
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
          {"spec", {{"containers", json::array({container})}}}};
}

// The message of a Status body (what the API server answers when it refuses).
std::string statusMessage(const std::string& body) {
  auto parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("message")) return body;
  return parsed["message"].get<std::string>();
}

// "2026-01-02T03:04:05Z", as metadata.creationTimestamp reads.
std::string nowUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class AdmissionTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Kept after the run (with the build's cluster logs) so a failure can be read.
    dir_ = fs::path(KW_CLUSTER_DIR) / "tests" / "admission" / ns_;
    fs::create_directories(dir_);
  }

  void TearDown() override {
    // Webhook configurations are cluster-wide: remove ours (their namespace stays).
    for (const auto& [kind, name] : configs_)
      (void)admin_->request("DELETE", cluster::webhookConfigurationPath(kind) + "/" + name);
    if (server_ && HasFailure()) std::ofstream(dir_ / "policy-server.log") << server_->log();
    server_.reset();
  }

  // The policy-server over HTTPS, with a certificate for 127.0.0.1 and for the Service's name.
  void startPolicyServer(std::vector<std::string> extra = {}) {
    std::string error;
    ASSERT_TRUE(cluster::makeServingPki(dir_ / "pki", {serviceHost()}, pki_, error)) << error;
    ca_pem_ = readTextFile(pki_.ca_cert).value();
    std::vector<std::string> args = {"--workers", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto t0 = Clock::now();
    server_ =
        std::make_unique<ServerProcess>(policiesYml(), args, true, TlsFiles{pki_.cert, pki_.key});
    ASSERT_TRUE(server_->waitReady()) << server_->log();
    std::printf("policy-server ready in %.2f s on port %u\n", secondsSince(t0), server_->port());
  }

  std::string serviceHost() const { return std::string(kServiceName) + "." + ns_ + ".svc"; }

  // How the API server reaches the policy-server. The Service route also writes the Service and
  // the EndpointSlice that points it at our loopback port.
  cluster::WebhookTarget target(Route route) {
    cluster::WebhookTarget t;
    t.ca_pem = ca_pem_;
    if (route == Route::kUrl) {
      t.url_base = "https://127.0.0.1:" + std::to_string(server_->port());
      return t;
    }
    if (!service_made_) {
      post("/api/v1/namespaces/" + ns_ + "/services",
           cluster::loopbackService(ns_, kServiceName, kServicePortName, 443));
      // The API refuses loopback endpoint addresses (422 "may not be in the loopback range"),
      // and loopback is all this machine may reach: the slice goes into etcd directly, where
      // the endpointslice controller's writes would land.
      json slice =
          cluster::loopbackEndpointSlice(ns_, kServiceName, kServicePortName, server_->port());
      slice["metadata"]["uid"] = randomUid();
      slice["metadata"]["creationTimestamp"] = nowUtc();
      std::string key =
          "/registry/endpointslices/" + ns_ + "/" + slice["metadata"]["name"].get<std::string>();
      auto stored = storeInEtcd(env_.state[kClusterEtcd], key, slice);
      EXPECT_TRUE(stored.ok()) << stored.error().message;
      service_made_ = true;
    }
    t.service_namespace = ns_;
    t.service_name = kServiceName;
    t.service_port = 443;
    return t;
  }

  // A webhook name unique to this test, so API server metrics can be read per test.
  std::string hookName(const std::string& what) const {
    return what + "." + ns_ + ".kubewarden.io";
  }

  // A webhook on this test's namespace that never sees the sentinel probes.
  Webhook hook(const std::string& what, const std::string& policy, json match_labels = nullptr) {
    Webhook w;
    w.name = hookName(what);
    w.policy = policy;
    w.namespace_selector = cluster::onlyNamespace(ns_);
    w.object_selector = {{"matchExpressions",
                          json::array({{{"key", kSentinelLabel}, {"operator", "DoesNotExist"}}})}};
    if (match_labels.is_object()) w.object_selector["matchLabels"] = std::move(match_labels);
    return w;
  }

  // Creates the configuration with one more webhook, the sentinel: it sends the probe Pods
  // (labelled kSentinelLabel=<kind>) to pod-privileged by the same route. The API server loads
  // configurations asynchronously, so this returns once a dry-run probe is refused by the
  // sentinel: the configuration is then in force, and the route (Service and EndpointSlice
  // included) works.
  void registerWebhooks(const std::string& kind, std::vector<Webhook> hooks, Route route) {
    Webhook sentinel;
    sentinel.name = hookName("sentinel");
    sentinel.policy = "pod-privileged";
    sentinel.namespace_selector = cluster::onlyNamespace(ns_);
    sentinel.object_selector = {{"matchLabels", {{kSentinelLabel, kind}}}};
    hooks.push_back(sentinel);
    std::string name = ns_ + "-" + (kind == "MutatingWebhookConfiguration" ? "m" : "v");
    post(cluster::webhookConfigurationPath(kind),
         cluster::webhookConfiguration(kind, name, hooks, target(route)));
    configs_.emplace_back(kind, name);

    std::string expected =
        "admission webhook \"" + sentinel.name + "\" denied the request: " + kPrivilegedMessage;
    auto t0 = Clock::now();
    std::string last;
    while (secondsSince(t0) < 60) {
      auto reply = createPod(pod("probe", true, {{kSentinelLabel, kind}}), /*dry_run=*/true);
      ASSERT_TRUE(reply.ok()) << reply.error().message;
      last = std::to_string(reply->status) + " " + statusMessage(reply->body);
      if (reply->status >= 400 && last.find(expected) != std::string::npos) {
        std::printf("%s in force after %.2f s\n", kind.c_str(), secondsSince(t0));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << kind << " " << name << " not in force after 60 s; last probe: " << last;
  }

  void post(const std::string& path, const json& body) {
    auto reply = admin_->request("POST", path, body.dump(), "application/json");
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    ASSERT_EQ(reply->status, 201) << path << ": " << reply->body;
  }

  Result<kube::Client::Reply> createPod(const json& manifest, bool dry_run = false) {
    return admin_->request("POST",
                           "/api/v1/namespaces/" + ns_ + "/pods" + (dry_run ? "?dryRun=All" : ""),
                           manifest.dump(), "application/json");
  }

  // `kubectl apply -f` of the manifest in this test's namespace; output has stderr too.
  CommandResult kubectlApply(const json& manifest) {
    fs::path file = dir_ / (manifest["metadata"]["name"].get<std::string>() + ".json");
    std::ofstream(file) << manifest.dump(2);
    return runCommand((env_.tools / "kubectl").string() + " --kubeconfig " +
                      env_.kubeconfig.string() + " apply -n " + ns_ + " -f " + file.string() +
                      " 2>&1");
  }

  // The stored Pod, or null when there is none.
  json storedPod(const std::string& name) {
    auto reply = admin_->request("GET", "/api/v1/namespaces/" + ns_ + "/pods/" + name);
    if (!reply.ok() || reply->status != 200) return nullptr;
    return json::parse(reply->body);
  }

  std::vector<cluster::Sample> apiserverMetric(const std::string& metric) {
    auto reply = admin_->request("GET", "/metrics");
    if (!reply.ok() || reply->status != 200) return {};
    return cluster::samplesOf(reply->body, metric);
  }

  fs::path dir_;
  cluster::ServingPki pki_;
  std::string ca_pem_;
  std::unique_ptr<ServerProcess> server_;
  bool service_made_ = false;
  std::vector<std::pair<std::string, std::string>> configs_;  // kind, name
};

// The same checks by URL and through a Service.
class Admission : public AdmissionTest, public ::testing::WithParamInterface<Route> {};

TEST_P(Admission, PrivilegedPodIsRefusedWithThePolicysMessage) {
  ASSERT_NO_FATAL_FAILURE(startPolicyServer());
  ASSERT_NO_FATAL_FAILURE(registerWebhooks("ValidatingWebhookConfiguration",
                                           {hook("pod-privileged", "pod-privileged")}, GetParam()));
  std::string denial = "admission webhook \"" + hookName("pod-privileged") +
                       "\" denied the request: " + kPrivilegedMessage;

  auto kubectl = kubectlApply(pod("privileged-kubectl", true));
  EXPECT_NE(kubectl.status, 0) << kubectl.out;
  EXPECT_NE(kubectl.out.find(denial), std::string::npos) << kubectl.out;
  EXPECT_TRUE(storedPod("privileged-kubectl").is_null());

  auto reply = createPod(pod("privileged-client", true));
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 400) << reply->body;  // the API server's code for a bare denial
  EXPECT_EQ(statusMessage(reply->body), denial);
  EXPECT_TRUE(storedPod("privileged-client").is_null());
}

TEST_P(Admission, UnprivilegedPodIsStoredWithTheMutatingPolicysLabel) {
  ASSERT_NO_FATAL_FAILURE(startPolicyServer());
  ASSERT_NO_FATAL_FAILURE(registerWebhooks("MutatingWebhookConfiguration",
                                           {hook("add-label", "add-label")}, GetParam()));
  ASSERT_NO_FATAL_FAILURE(registerWebhooks("ValidatingWebhookConfiguration",
                                           {hook("pod-privileged", "pod-privileged")}, GetParam()));

  auto kubectl = kubectlApply(pod("plain-kubectl", false, {{"app", "web"}}));
  EXPECT_EQ(kubectl.status, 0) << kubectl.out;
  auto reply = createPod(pod("plain-client", false, {{"app", "web"}}));
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 201) << reply->body;
  // The answer to the create already is the stored object.
  EXPECT_EQ(json::parse(reply->body)["metadata"]["labels"][kMutatedLabel], "true") << reply->body;

  for (const char* name : {"plain-kubectl", "plain-client"}) {
    json stored = storedPod(name);
    ASSERT_FALSE(stored.is_null()) << name << " was not stored";
    EXPECT_EQ(stored["metadata"]["labels"][kMutatedLabel], "true") << stored.dump();
    EXPECT_EQ(stored["metadata"]["labels"]["app"], "web") << stored.dump();
  }
  auto shown = runCommand((env_.tools / "kubectl").string() + " --kubeconfig " +
                          env_.kubeconfig.string() + " get pod plain-kubectl -n " + ns_ +
                          " -o jsonpath='{.metadata.labels.kubewarden\\.io/mutated}' 2>&1");
  EXPECT_EQ(shown.out, "true");
}

TEST_P(Admission, MonitorModeLetsThePrivilegedPodIn) {
  ASSERT_NO_FATAL_FAILURE(startPolicyServer());
  ASSERT_NO_FATAL_FAILURE(registerWebhooks(
      "ValidatingWebhookConfiguration", {hook("monitor", "pod-privileged-monitor")}, GetParam()));

  auto kubectl = kubectlApply(pod("monitored-kubectl", true));
  EXPECT_EQ(kubectl.status, 0) << kubectl.out;
  auto reply = createPod(pod("monitored-client", true));
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 201) << reply->body;
  EXPECT_FALSE(storedPod("monitored-kubectl").is_null());
  EXPECT_FALSE(storedPod("monitored-client").is_null());

  // Admitted because the policy only watched: the API server did call the webhook, and the
  // policy-server logged the verdict it did not enforce.
  auto calls = apiserverMetric("apiserver_admission_webhook_admission_duration_seconds_count");
  EXPECT_EQ(cluster::sumOf(calls, {{"name", hookName("monitor")}, {"rejected", "false"}}), 2);
  std::string log = server_->log();
  EXPECT_NE(log.find("monitor mode"), std::string::npos) << log;
  EXPECT_NE(log.find(kPrivilegedMessage), std::string::npos) << log;
}

TEST_P(Admission, FailurePolicyDecidesWhileThePolicyServerIsDown) {
  ASSERT_NO_FATAL_FAILURE(startPolicyServer());
  // Both send privileged Pods to pod-privileged, which would refuse them.
  Webhook fail = hook("fail", "pod-privileged", {{"failure-policy", "fail"}});
  Webhook ignore = hook("ignore", "pod-privileged", {{"failure-policy", "ignore"}});
  ignore.failure_policy = "Ignore";
  ASSERT_NO_FATAL_FAILURE(
      registerWebhooks("ValidatingWebhookConfiguration", {fail, ignore}, GetParam()));
  server_->terminate();

  std::string failed_call = "failed calling webhook \"" + fail.name + "\"";
  auto kubectl = kubectlApply(pod("fail-kubectl", true, {{"failure-policy", "fail"}}));
  EXPECT_NE(kubectl.status, 0) << kubectl.out;
  EXPECT_NE(kubectl.out.find(failed_call), std::string::npos) << kubectl.out;
  auto reply = createPod(pod("fail-client", true, {{"failure-policy", "fail"}}));
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 500) << reply->body;
  EXPECT_NE(statusMessage(reply->body).find(failed_call), std::string::npos) << reply->body;
  EXPECT_TRUE(storedPod("fail-kubectl").is_null());
  EXPECT_TRUE(storedPod("fail-client").is_null());

  kubectl = kubectlApply(pod("ignore-kubectl", true, {{"failure-policy", "ignore"}}));
  EXPECT_EQ(kubectl.status, 0) << kubectl.out;
  reply = createPod(pod("ignore-client", true, {{"failure-policy", "ignore"}}));
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 201) << reply->body;
  EXPECT_FALSE(storedPod("ignore-kubectl").is_null());
  EXPECT_FALSE(storedPod("ignore-client").is_null());
  // Admitted because the call failed open, not because the webhook was not in force.
  auto open = apiserverMetric("apiserver_admission_webhook_fail_open_count");
  EXPECT_EQ(cluster::sumOf(open, {{"name", ignore.name}}), 2);
}

INSTANTIATE_TEST_SUITE_P(Route, Admission, ::testing::Values(Route::kUrl, Route::kService),
                         [](const auto& info) {
                           return info.param == Route::kUrl ? "Url" : "Service";
                         });

// A policy that never returns, by URL.
class AdmissionTimeout : public AdmissionTest {};

TEST_F(AdmissionTimeout, LoopingPolicyIsCutAtThePolicyServersTimeout) {
  ASSERT_NO_FATAL_FAILURE(startPolicyServer({"--policy-timeout", "2"}));
  Webhook loop = hook("loop", "loop");
  loop.timeout_seconds = 10;  // longer than the policy-server's own deadline
  ASSERT_NO_FATAL_FAILURE(registerWebhooks("ValidatingWebhookConfiguration", {loop}, Route::kUrl));

  auto t0 = Clock::now();
  auto kubectl = kubectlApply(pod("loop-kubectl", false));
  double kubectl_s = secondsSince(t0);
  EXPECT_NE(kubectl.status, 0) << kubectl.out;
  EXPECT_NE(kubectl.out.find(kPolicyTimeoutMessage), std::string::npos) << kubectl.out;

  t0 = Clock::now();
  auto reply = createPod(pod("loop-client", false));
  double client_s = secondsSince(t0);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  // The policy-server answers a verdict (code 500), which the API server passes on.
  EXPECT_EQ(reply->status, 500) << reply->body;
  EXPECT_NE(
      statusMessage(reply->body).find("admission webhook \"" + loop.name + "\" denied the request"),
      std::string::npos)
      << reply->body;
  EXPECT_NE(statusMessage(reply->body).find(kPolicyTimeoutMessage), std::string::npos)
      << reply->body;
  for (double s : {kubectl_s, client_s}) {
    EXPECT_GE(s, 1.9);
    EXPECT_LT(s, 10);
  }
  std::printf("refused after %.2f s (kubectl) and %.2f s (kube client)\n", kubectl_s, client_s);
  EXPECT_TRUE(storedPod("loop-kubectl").is_null());
  EXPECT_TRUE(storedPod("loop-client").is_null());
}

TEST_F(AdmissionTimeout, ApiServerHonoursTheWebhooksTimeoutSeconds) {
  // The policy-server would give up after 4 s; the API server waits 1 s.
  ASSERT_NO_FATAL_FAILURE(startPolicyServer({"--policy-timeout", "4"}));
  Webhook fail = hook("loop-fail", "loop", {{"failure-policy", "fail"}});
  Webhook ignore = hook("loop-ignore", "loop", {{"failure-policy", "ignore"}});
  fail.timeout_seconds = ignore.timeout_seconds = 1;
  ignore.failure_policy = "Ignore";
  ASSERT_NO_FATAL_FAILURE(
      registerWebhooks("ValidatingWebhookConfiguration", {fail, ignore}, Route::kUrl));

  auto t0 = Clock::now();
  auto kubectl = kubectlApply(pod("fail-kubectl", false, {{"failure-policy", "fail"}}));
  double kubectl_s = secondsSince(t0);
  EXPECT_NE(kubectl.status, 0) << kubectl.out;
  EXPECT_NE(kubectl.out.find("failed calling webhook \"" + fail.name + "\""), std::string::npos)
      << kubectl.out;
  EXPECT_EQ(kubectl.out.find(kPolicyTimeoutMessage), std::string::npos) << kubectl.out;

  t0 = Clock::now();
  auto reply = createPod(pod("fail-client", false, {{"failure-policy", "fail"}}));
  double client_s = secondsSince(t0);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 500) << reply->body;
  std::string message = statusMessage(reply->body);
  EXPECT_NE(message.find("failed calling webhook \"" + fail.name + "\""), std::string::npos)
      << message;
  EXPECT_NE(message.find("deadline exceeded"), std::string::npos) << message;
  EXPECT_EQ(message.find(kPolicyTimeoutMessage), std::string::npos) << message;
  EXPECT_GE(client_s, 0.9);
  EXPECT_LT(client_s, 3.5);  // well before the policy-server's own 4 s

  t0 = Clock::now();
  auto admitted = createPod(pod("ignore-client", false, {{"failure-policy", "ignore"}}));
  double ignore_s = secondsSince(t0);
  ASSERT_TRUE(admitted.ok()) << admitted.error().message;
  EXPECT_EQ(admitted->status, 201) << admitted->body;
  EXPECT_GE(ignore_s, 0.9);
  EXPECT_LT(ignore_s, 3.5);
  kubectl = kubectlApply(pod("ignore-kubectl", false, {{"failure-policy", "ignore"}}));
  EXPECT_EQ(kubectl.status, 0) << kubectl.out;
  std::printf("gave up after %.2f s (kubectl), %.2f s (kube client, Fail), %.2f s (Ignore)\n",
              kubectl_s, client_s, ignore_s);
  EXPECT_TRUE(storedPod("fail-client").is_null());
  EXPECT_FALSE(storedPod("ignore-client").is_null());
  EXPECT_FALSE(storedPod("ignore-kubectl").is_null());
}

}  // namespace
}  // namespace kw::test
