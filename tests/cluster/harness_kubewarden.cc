#include "cluster/harness_kubewarden.h"

#include <unistd.h>

#include <thread>

#include "cluster/harness_http.h"
#include "cluster/harness_process.h"

namespace kw::cluster {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Runs kubectl with the admin kubeconfig, its output appended to logs/kubectl.log.
bool kubectl(const KubewardenLaunch& l, std::vector<std::string> args, std::string& error) {
  fs::path log = l.dir / "logs" / "kubectl.log";
  args.insert(args.begin(),
              {(l.tools / "kubectl").string(), "--kubeconfig", l.kubeconfig.string()});
  auto before = fs::exists(log) ? fs::file_size(log) : 0;
  int status = runLogged(args, log);
  if (status == 0) return true;
  std::string command;
  for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
  error = command + " exited " + std::to_string(status) + ":\n" +
          tailOf(log, fs::file_size(log) - before);
  return false;
}

}  // namespace

bool applyCrds(const KubewardenLaunch& l, std::string& error) {
  fs::path manifests = l.crds;
  if (fs::exists(l.crds / "Chart.yaml")) {
    // A Helm chart's templates are not plain manifests: render them as `helm install` would.
    manifests = l.dir / "kubewarden-crds.yaml";
    fs::path log = l.dir / "logs" / "helm.log";
    std::string command = "'" + (l.tools / "helm").string() + "' template kubewarden-crds '" +
                          l.crds.string() + "' > '" + manifests.string() + "'";
    if (int status = runLogged({"sh", "-c", command}, log); status != 0) {
      error = "helm template " + l.crds.string() + " exited " + std::to_string(status) + ":\n" +
              tailOf(log);
      return false;
    }
  }
  // Server-side: CRDs with full schemas outgrow the last-applied annotation of client-side apply.
  return kubectl(l, {"apply", "--server-side", "--force-conflicts", "-f", manifests.string()},
                 error) &&
         kubectl(l,
                 {"wait", "--for", "condition=Established", "--timeout",
                  std::to_string(l.timeout.count()) + "s", "-f", manifests.string()},
                 error);
}

bool startController(const KubewardenLaunch& l, test::ClusterState& state,
                     const std::function<void()>& save, std::string& error) {
  if (::access(l.controller.c_str(), X_OK) != 0) {
    error = l.controller.string() + " is missing: build it first";
    return false;
  }
  std::string ignored;
  if (!kubectl(l, {"get", "namespace", l.deployments_namespace}, ignored) &&
      !kubectl(l, {"create", "namespace", l.deployments_namespace}, error))
    return false;
  auto ports = freePorts(2);
  if (ports.size() != 2) {
    error = "could not reserve two loopback ports for the controller";
    return false;
  }
  std::string health = "127.0.0.1:" + std::to_string(ports[1]);
  std::vector<std::string> args = {l.controller.string(),
                                   "--kubeconfig",
                                   l.kubeconfig.string(),
                                   "--deployments-namespace",
                                   l.deployments_namespace,
                                   "--metrics-bind-address",
                                   "127.0.0.1:" + std::to_string(ports[0]),
                                   "--health-probe-bind-address",
                                   health};
  args.insert(args.end(), l.controller_args.begin(), l.controller_args.end());
  fs::path log = l.dir / "logs" / "kubewarden-controller.log";
  pid_t pid = spawnDaemon(args, log);
  if (pid < 0) {
    error = "fork failed for the controller";
    return false;
  }
  state[test::kClusterController] = l.controller.string();
  state[test::kClusterControllerPid] = std::to_string(pid);
  state[test::kClusterControllerLog] = log.string();
  state[test::kClusterControllerHealth] = "http://" + health;
  save();
  auto deadline = Clock::now() + l.timeout;
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    if (childExited(pid)) {
      error = "kubewarden-controller exited during start-up:\n" + tailOf(log);
      return false;
    }
    auto answer = httpsGet("http://" + health + "/readyz", {});
    last = answer.describe();
    if (answer.status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error = "kubewarden-controller not ready after " + std::to_string(l.timeout.count()) +
          " s; last /readyz: " + last + "\n" + tailOf(log);
  return false;
}

}  // namespace kw::cluster
