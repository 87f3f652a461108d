#include "cluster/controller_process.h"

#include <chrono>
#include <sstream>

#include "cluster/harness_process.h"
#include "net/http_client.h"

namespace kw::test {

using namespace std::chrono_literals;

std::pair<long, std::string> httpGet(const std::string& url) {
  net::Request request;
  request.url = url;
  request.timeout_ms = 5000;
  auto response = net::HttpClient().perform(request);
  return {response.ok() ? response.status : 0, response.body};
}

ControllerProcess::ControllerProcess(const ClusterEnv& env, const std::string& ns,
                                     const std::string& selector, const std::string& tag,
                                     std::vector<std::string> extra) {
  auto ports = cluster::freePorts(2);
  metrics_port_ = ports[0];
  probe_port_ = ports[1];
  log_ = std::filesystem::path(KW_CLUSTER_DIR) / "tests" / "controller" / ns / (tag + ".log");
  std::filesystem::create_directories(log_.parent_path());
  std::vector<std::string> args = {std::string(KW_BIN_DIR) + "/kubewarden-controller",
                                   "--kubeconfig",
                                   env.kubeconfig.string(),
                                   "--deployments-namespace",
                                   ns,
                                   "--metrics-bind-address",
                                   "127.0.0.1:" + std::to_string(metrics_port_),
                                   "--health-probe-bind-address",
                                   "127.0.0.1:" + std::to_string(probe_port_),
                                   "--zap-log-level",
                                   "debug"};
  if (!selector.empty()) args.insert(args.end(), {"--label-selector", selector});
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = cluster::spawnDaemon(args, log_);
}

bool ControllerProcess::stop() {
  if (pid_ <= 0) return true;
  bool clean = cluster::terminate(pid_, 20s);
  cluster::childExited(pid_);
  pid_ = -1;
  return clean;
}

bool ControllerProcess::alive() const {
  return pid_ > 0 && cluster::processAlive(pid_);
}

bool ControllerProcess::ready() const {
  return httpGet("http://127.0.0.1:" + std::to_string(probe_port_) + "/readyz").first == 200;
}

std::string ControllerProcess::metrics() const {
  return httpGet("http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics").second;
}

long ControllerProcess::writes() const {
  long total = 0;
  std::istringstream in(metrics());
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("rest_client_requests_total{", 0) != 0) continue;
    if (line.find("method=\"GET\"") != std::string::npos) continue;
    total += std::stol(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

std::string ControllerProcess::log() const {
  return cluster::tailOf(log_, 4000);
}

}  // namespace kw::test
