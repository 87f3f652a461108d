// kube-controller-manager beside the test API server, so Deployments get ReplicaSets and Pods,
// Services get EndpointSlices, deleted namespaces are emptied and owners' deletions cascade,
// as on a real cluster. Only the kubelet is missing (kubelet_standin.cc stands in for it).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "cluster/harness_pki.h"
#include "support/cluster_state.h"

namespace kw::cluster {

// The controllers we run (kube-controller-manager's names); everything else stays off.
extern const char* const kControllers;

struct ControllerManagerOptions {
  std::filesystem::path binary;      // build/tools/bin/kube-controller-manager
  std::filesystem::path kubeconfig;  // its own identity (Pki::kcm_cert)
  std::filesystem::path log;
  std::string server;  // the API server, to read the leader Lease
  std::chrono::seconds timeout{120};
};

// Starts it as a daemon (pid, log and URL recorded in `state`, then `save`), and returns once
// /healthz on its secure port answers ok and it holds the kube-system/kube-controller-manager
// Lease (it starts its controllers only as the leader). False with `error` otherwise; the
// caller stops what `state` records.
bool startControllerManager(const ControllerManagerOptions& options, const Pki& pki,
                            test::ClusterState& state, const std::function<void()>& save,
                            std::string& error);

}  // namespace kw::cluster
