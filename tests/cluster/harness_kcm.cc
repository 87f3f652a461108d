#include "cluster/harness_kcm.h"

#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/harness_http.h"
#include "cluster/harness_process.h"

namespace kw::cluster {
using Clock = std::chrono::steady_clock;

const char* const kControllers =
    "deployment-controller,replicaset-controller,endpointslice-controller,"
    "garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,"
    "namespace-controller,disruption-controller";

namespace {

// The holder of the controller manager's leader Lease, or "" while there is none.
std::string leaseHolder(const std::string& server, const Pki& pki, std::string& last) {
  auto answer = httpsGet(
      server + "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager",
      pki.ca_cert, pki.admin_cert, pki.admin_key);
  last = "lease: " + answer.describe();
  if (answer.status != 200) return "";
  auto lease = nlohmann::json::parse(answer.body, nullptr, false);
  if (lease.is_discarded()) return "";
  return lease.value(nlohmann::json::json_pointer("/spec/holderIdentity"), std::string());
}

}  // namespace

bool startControllerManager(const ControllerManagerOptions& o, const Pki& pki,
                            test::ClusterState& state, const std::function<void()>& save,
                            std::string& error) {
  if (::access(o.binary.c_str(), X_OK) != 0) {
    error = o.binary.string() + " is missing: run `make deps` (scripts/tools.sh builds it)";
    return false;
  }
  auto ports = freePorts(1);
  if (ports.size() != 1) {
    error = "could not reserve a loopback port for kube-controller-manager";
    return false;
  }
  std::string kubeconfig = o.kubeconfig.string();
  std::string url = "https://127.0.0.1:" + std::to_string(ports[0]);
  // It serves /healthz with the API server's certificate (SAN 127.0.0.1, our CA), so the
  // check below verifies it like any other peer. No authentication/authorization kubeconfig:
  // /healthz is always allowed, and with one it would look for a request-header CA our API
  // server does not have, and log that error many times a second. Tokens of ServiceAccounts are
  // signed with the key the API server verifies; the root CA goes into their Secrets as ca.crt.
  pid_t pid = spawnDaemon(
      {o.binary.string(), "--kubeconfig", kubeconfig, "--bind-address", "127.0.0.1",
       "--secure-port", std::to_string(ports[0]), "--tls-cert-file", pki.serving_cert.string(),
       "--tls-private-key-file", pki.serving_key.string(), "--controllers", kControllers,
       "--service-account-private-key-file", pki.sa_key.string(), "--root-ca-file",
       pki.ca_cert.string(), "--use-service-account-credentials=false", "--leader-elect=true",
       // Tests create objects in bursts; the default 20 requests/s would queue them.
       "--kube-api-qps", "100", "--kube-api-burst", "200"},
      o.log);
  if (pid < 0) {
    error = "fork failed for kube-controller-manager";
    return false;
  }
  state[test::kClusterKcmPid] = std::to_string(pid);
  state[test::kClusterKcmLog] = o.log.string();
  state[test::kClusterKcmUrl] = url;
  save();

  auto deadline = Clock::now() + o.timeout;
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    if (childExited(pid)) {
      error = "kube-controller-manager exited during start-up:\n" + tailOf(o.log);
      return false;
    }
    auto health = httpsGet(url + "/healthz", pki.ca_cert);
    last = "/healthz: " + health.describe();
    if (health.status == 200 && health.body == "ok" && !leaseHolder(o.server, pki, last).empty())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error = "kube-controller-manager not ready after " + std::to_string(o.timeout.count()) +
          " s; last " + last + "\n" + tailOf(o.log);
  return false;
}

}  // namespace kw::cluster
