#include "cluster/harness_policy_server.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/harness_http.h"
#include "cluster/harness_pki.h"
#include "cluster/harness_process.h"
#include "cluster/webhooks.h"
#include "common/yaml_json.h"
#include "kube/client.h"
#include "kube/config.h"

namespace kw::cluster {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr char kSentinelLabel[] = "kubewarden.io/sentinel";
constexpr char kSentinelName[] = "sentinel.kubewarden-cpp.admission";
// No policy has this id: the policy-server answers 404, so the sentinel's call always fails.
constexpr char kSentinelPolicy[] = "kubewarden-cpp-sentinel";

// GET url/readiness, trusting only `ca`; true on 200.
bool ready(const std::string& url, const fs::path& ca, std::string& last) {
  auto answer = httpsGet(url + "/readiness", ca);
  last = answer.describe();
  return answer.status == 200;
}

// A probe Pod only the sentinel of `kind` sees, created with dryRun so nothing is stored.
json probePod(const std::string& kind) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "kubewarden-cpp-probe"}, {"labels", {{kSentinelLabel, kind}}}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "probe.invalid/x"}}})}}}};
}

}  // namespace

std::string webhookNameOf(const std::string& policy_id) {
  return policy_id + ".kubewarden-cpp.admission";
}

bool startPolicyServer(const PolicyServerOptions& o, test::ClusterState& state,
                       const std::function<void()>& save, std::string& error) {
  auto text = readTextFile(o.policies);
  if (!text) {
    error = text.error().message;
    return false;
  }
  json policies;
  try {
    policies = parseYamlToJson(*text);
  } catch (const std::exception& e) {
    error = o.policies.string() + ": " + e.what();
    return false;
  }
  if (!policies.is_object() || policies.empty()) {
    error = o.policies.string() + ": expected a map of policies";
    return false;
  }

  ServingPki pki;
  if (!makeServingPki(o.dir / "webhook-pki", {}, pki, error)) return false;
  auto ports = freePorts(1);
  if (ports.size() != 1) {
    error = "could not reserve a loopback port for the policy-server";
    return false;
  }
  std::string url = "https://127.0.0.1:" + std::to_string(ports[0]);
  fs::path log = o.dir / "logs" / "policy-server.log";
  fs::path binary = fs::absolute(o.binary);
  fs::create_directories(o.dir / "policies");
  auto t0 = Clock::now();
  pid_t pid = spawnDaemon(
      {binary.string(), "--addr", "127.0.0.1", "--port", std::to_string(ports[0]), "--policies",
       fs::absolute(o.policies).string(), "--policies-download-dir", (o.dir / "policies").string(),
       "--cert-file", pki.cert.string(), "--key-file", pki.key.string()},
      log);
  if (pid < 0) {
    error = "fork failed";
    return false;
  }
  state[test::kClusterPolicyServer] = binary.string();
  state[test::kClusterPolicyServerPid] = std::to_string(pid);
  state[test::kClusterPolicyServerUrl] = url;
  state[test::kClusterPolicyServerLog] = log.string();
  save();  // recorded before waiting, so `stop` finds it

  std::string last = "no answer yet";
  while (!ready(url, pki.ca_cert, last)) {
    if (childExited(pid)) {
      error = "policy-server exited during start-up:\n" + tailOf(log);
      return false;
    }
    if (Clock::now() - t0 > std::chrono::seconds(120)) {
      error = "policy-server not ready after 120 s; last /readiness: " + last + "\n" + tailOf(log);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("cluster: policy-server ready in %.2f s at %s (%zu policies from %s)\n",
              std::chrono::duration<double>(Clock::now() - t0).count(), url.c_str(),
              policies.size(), o.policies.c_str());

  auto config = kube::loadKubeconfig(o.kubeconfig);
  if (!config) {
    error = config.error().message;
    return false;
  }
  auto client = kube::Client::create(std::move(*config));
  if (!client) {
    error = client.error().message;
    return false;
  }
  auto ca = readTextFile(pki.ca_cert);
  if (!ca) {
    error = ca.error().message;
    return false;
  }
  WebhookTarget target;
  target.url_base = url;
  target.ca_pem = *ca;

  // Every namespace but kube-system; probe Pods are for the sentinels only.
  json everywhere = {{"matchExpressions", json::array({{{"key", "kubernetes.io/metadata.name"},
                                                        {"operator", "NotIn"},
                                                        {"values", {"kube-system"}}}})}};
  json not_probes = {
      {"matchExpressions", json::array({{{"key", kSentinelLabel}, {"operator", "DoesNotExist"}}})}};
  std::vector<Webhook> validating, mutating;
  for (const auto& [id, policy] : policies.items()) {
    Webhook w;
    w.name = webhookNameOf(id);
    w.policy = id;
    w.namespace_selector = everywhere;
    w.object_selector = not_probes;
    bool mutates = policy.is_object() && policy.value("allowedToMutate", false);
    (mutates ? mutating : validating).push_back(std::move(w));
  }

  auto deadline = Clock::now() + std::chrono::seconds(60);
  for (auto [kind, hooks] : {std::pair{std::string("ValidatingWebhookConfiguration"), validating},
                             std::pair{std::string("MutatingWebhookConfiguration"), mutating}}) {
    if (hooks.empty()) continue;
    // The sentinel tells when the API server enforces this configuration (it loads them
    // asynchronously): its call always fails, so a probe it sees is refused, naming it.
    Webhook sentinel;
    sentinel.name = kSentinelName;
    sentinel.policy = kSentinelPolicy;
    sentinel.namespace_selector = onlyNamespace("default");
    sentinel.object_selector = {{"matchLabels", {{kSentinelLabel, kind}}}};
    hooks.push_back(sentinel);
    std::string name = kind == "MutatingWebhookConfiguration" ? "kubewarden-cpp-mutating"
                                                              : "kubewarden-cpp-validating";
    auto made = (*client)->request("POST", webhookConfigurationPath(kind),
                                   webhookConfiguration(kind, name, hooks, target).dump(),
                                   "application/json");
    if (!made || made->status != 201) {
      error = "cannot create " + kind + " " + name + ": " +
              (made ? std::to_string(made->status) + " " + made->body : made.error().message);
      return false;
    }
    std::string probe;
    for (;;) {
      auto reply = (*client)->request("POST", "/api/v1/namespaces/default/pods?dryRun=All",
                                      probePod(kind).dump(), "application/json");
      probe = reply ? std::to_string(reply->status) + " " + reply->body : reply.error().message;
      if (reply && reply->status >= 400 && reply->body.find(kSentinelName) != std::string::npos)
        break;
      if (Clock::now() > deadline) {
        error = kind + " " + name + " not enforced after 60 s; last probe: " + probe;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (const auto& w : hooks)
      if (w.name != kSentinelName)
        std::printf("cluster: %s %s -> %s/validate/%s\n", kind.c_str(), w.name.c_str(), url.c_str(),
                    w.policy.c_str());
  }
  return true;
}

}  // namespace kw::cluster
