// The kubelet stand-in (kw-kubelet-standin, a test double) beside the control plane, so the
// policy-server Pods of a Deployment run as processes and become Ready.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "cluster/harness_pki.h"
#include "support/cluster_state.h"

namespace kw::cluster {

struct StandinLaunch {
  std::filesystem::path binary;         // build/bin/kw-kubelet-standin
  std::filesystem::path policy_server;  // what every Pod runs
  std::filesystem::path kubeconfig;     // admin
  std::filesystem::path dir;            // <cluster dir>/standin
  std::string server;
  std::chrono::seconds timeout{60};
};

inline constexpr const char* kStandinNode = "kw-kubelet-standin";

// Starts it (pid, log, node and folder recorded in `state`, then `save`) and returns once its
// Node is Ready; false with `error` if it exits first (its log says why, e.g. not root).
bool startStandin(const StandinLaunch& launch, const Pki& pki, test::ClusterState& state,
                  const std::function<void()>& save, std::string& error);

}  // namespace kw::cluster
