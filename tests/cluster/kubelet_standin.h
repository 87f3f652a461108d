// kw-kubelet-standin: a TEST DOUBLE for the kubelet, not a kubelet. The test control plane runs
// kube-apiserver and kube-controller-manager but no kubelet and no scheduler, so a Deployment's
// Pods would stay Pending forever. This program registers one Node, binds the Pending Pods that
// match a label selector to it, and runs our policy-server for each (whatever image the Pod
// names) on an address of its own (10.244.0.N on `lo`), then reports the Pod Running and, once
// its readiness probe answers, Ready. The endpointslice controller then publishes that address
// and the API server calls webhooks there, as on a real cluster. See tests/cluster/README.md.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

namespace kw::cluster {

struct StandinOptions {
  std::filesystem::path kubeconfig;     // admin access (a test double needs no narrow rights)
  std::filesystem::path policy_server;  // the binary every Pod runs
  std::filesystem::path dir;            // pods/<ns>_<name>/ (volumes, pid), logs/, addresses
  std::string node_name = "kw-kubelet-standin";
  std::string selector = "kubewarden/policy-server";  // the Pods it takes (label selector)
  std::string ns;                                     // empty: every namespace
};

// Runs until `stop` turns true (the caller's signal handling), then stops every process it
// started and removes its addresses. Returns the exit code; start-up failures (no kubeconfig,
// no right to add addresses to `lo`) are printed and return 1.
int runKubeletStandin(const StandinOptions& options, const std::atomic<bool>& stop);

}  // namespace kw::cluster
