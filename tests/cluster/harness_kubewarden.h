// Kubewarden on the test control plane, for people (`make cluster`): the CRDs, the deployments
// namespace and our kubewarden-controller, so `kubectl apply` of a PolicyServer and policies
// gives working admission (its policy-server Pods run under the kubelet stand-in).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/cluster_state.h"

namespace kw::cluster {

struct KubewardenLaunch {
  std::filesystem::path tools;       // kubectl, helm
  std::filesystem::path kubeconfig;  // admin
  std::filesystem::path dir;         // the control plane's folder (logs/)
  std::filesystem::path crds;        // a chart (Chart.yaml: rendered by helm) or a manifests folder
  std::filesystem::path controller;  // build/bin/kubewarden-controller; empty: none
  std::vector<std::string> controller_args;  // more flags for it
  std::string deployments_namespace = "kubewarden";
  std::chrono::seconds timeout{60};
};

// Applies the CRDs (when given) and waits until they are Established.
bool applyCrds(const KubewardenLaunch& launch, std::string& error);
// Creates the deployments namespace (if missing) and starts the controller (pid and log in
// `state`, then `save`), returning once its /readyz answers 200, or, if it serves none, once it
// has run for the timeout without exiting.
bool startController(const KubewardenLaunch& launch, test::ClusterState& state,
                     const std::function<void()>& save, std::string& error);

}  // namespace kw::cluster
