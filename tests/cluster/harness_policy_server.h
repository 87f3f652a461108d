// The policy-server part of a control plane for people (`make cluster`): our policy-server on
// loopback over HTTPS, every policy of a policies.yml registered with the API server as a
// webhook.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "support/cluster_state.h"

namespace kw::cluster {

struct PolicyServerOptions {
  std::filesystem::path binary;    // build/bin/policy-server
  std::filesystem::path policies;  // examples/policies.yml
  std::filesystem::path dir;       // the control plane's folder (pki, logs, state)
  std::filesystem::path kubeconfig;
};

// Starts the policy-server as a daemon (recording its pid in `state` and calling `save` before
// anything can fail), waits for /readiness, then registers one webhook per policy (Pods, CREATE
// and UPDATE; mutating when the policy has allowedToMutate: true; every namespace but
// kube-system) and waits until the API server enforces them. False with `error` on any
// failure; the caller stops what `state` records.
bool startPolicyServer(const PolicyServerOptions& options, test::ClusterState& state,
                       const std::function<void()>& save, std::string& error);

// The webhook name a policy id gets: "<id>.kubewarden-cpp.admission".
std::string webhookNameOf(const std::string& policy_id);

}  // namespace kw::cluster
