// Our kubewarden-controller run as a process against the test control plane (no kubelet runs
// its Deployment here): shared by controller_test.cc and charts_install_test.cc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "support/cluster_env.h"

namespace kw::test {

// GET over plain HTTP (the controller's metrics and probes); status 0 when nothing answered.
std::pair<long, std::string> httpGet(const std::string& url);

// One controller process with the test cluster's kubeconfig, `ns` as --deployments-namespace,
// loopback metrics and probe ports and debug logs; `selector` (the hidden --label-selector,
// empty: none) keeps it to one test's objects. Stops it (SIGTERM) on destruction. Its log is
// <cluster dir>/tests/controller/<ns>/<tag>.log.
class ControllerProcess {
 public:
  ControllerProcess(const ClusterEnv& env, const std::string& ns, const std::string& selector,
                    const std::string& tag, std::vector<std::string> extra = {});
  ~ControllerProcess() { stop(); }
  ControllerProcess(const ControllerProcess&) = delete;
  ControllerProcess& operator=(const ControllerProcess&) = delete;

  // SIGTERM; true if it stopped before SIGKILL was needed.
  bool stop();
  bool alive() const;
  bool ready() const;  // /readyz answers 200
  std::string metrics() const;
  // The sum of rest_client_requests_total samples whose method is not GET: the writes.
  long writes() const;
  std::string log() const;

 private:
  pid_t pid_ = -1;
  uint16_t metrics_port_ = 0, probe_port_ = 0;
  std::filesystem::path log_;
};

}  // namespace kw::test
