// The test control plane: etcd and kube-apiserver on loopback, started once for a whole
// `ctest -j` run (the `cluster` fixture) and stopped after it. kw-cluster is its command line.
#pragma once

#include <chrono>
#include <filesystem>

namespace kw::cluster {

struct Options {
  std::filesystem::path dir;    // state, kubeconfig, pki, logs/, etcd-data/ (e.g. build/cluster)
  std::filesystem::path tools;  // etcd and kube-apiserver (build/tools/bin, from scripts/tools.sh)
  std::chrono::seconds ready_timeout{180};
  bool strict = false;  // a control plane that can't start is an error (CI), not a skip
  // With both (make cluster): also a policy-server serving `policies`, registered as webhooks.
  std::filesystem::path policy_server, policies;
};

// Starts both daemons, waits until /readyz answers ok and writes dir/env (support/cluster_state.h).
// Returns the process exit code: non-zero on failure when `strict`, else 0 with the reason in
// dir/env so the tests skip saying why.
int start(const Options& options);
// SIGTERM to the policy-server, kube-apiserver, then etcd, waiting for each; deletes etcd's
// data, keeps the logs.
int stop(const Options& options);

}  // namespace kw::cluster
