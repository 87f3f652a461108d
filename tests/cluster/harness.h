// The test control plane: etcd and kube-apiserver on loopback, started once for a whole
// `ctest -j` run (the `cluster` fixture) and stopped after it. kw-cluster is its command line.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kw::cluster {

struct Options {
  std::filesystem::path dir;    // state, kubeconfig, pki, logs/, etcd-data/ (e.g. build/cluster)
  std::filesystem::path tools;  // etcd and kube-apiserver (build/tools/bin, from scripts/tools.sh)
  std::chrono::seconds ready_timeout{180};
  bool strict = false;  // a control plane that can't start is an error (CI), not a skip
  // With both (make cluster): also a policy-server serving `policies`, registered as webhooks.
  std::filesystem::path policy_server, policies;
  // kw-kubelet-standin (a test double for the kubelet) and the binary its Pods run (default:
  // policy-server beside it).
  std::filesystem::path kubelet_standin, standin_policy_server;
  // make cluster: the kubewarden-crds chart (or a folder of manifests) to apply, and our
  // controller to run with --deployments-namespace kubewarden (plus `controller_args`).
  std::filesystem::path crds, controller;
  std::vector<std::string> controller_args;
};

// Starts etcd and kube-apiserver, waits until /readyz answers ok, starts kube-controller-manager
// and waits until it leads, then the optional parts; writes dir/env (support/cluster_state.h).
// Returns the process exit code: non-zero on failure when `strict`, else 0 with the reason in
// dir/env so the tests skip saying why.
int start(const Options& options);
// SIGTERM to the stand-in, the policy-server, kube-controller-manager, kube-apiserver, then
// etcd, waiting for each; removes the stand-in's leftovers and etcd's data, keeps the logs.
int stop(const Options& options);

}  // namespace kw::cluster
