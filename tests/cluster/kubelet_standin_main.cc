// kw-kubelet-standin: a test double for the kubelet (see kubelet_standin.h). Started by
// `kw-cluster start --kubelet-standin` (the test fixture and `make cluster`); runs until SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <thread>

#include "cluster/kubelet_standin.h"

int main(int argc, char** argv) {
  kw::cluster::StandinOptions options;
  CLI::App app{
      "kw-kubelet-standin: a TEST DOUBLE for the kubelet. Registers a Node, binds the "
      "matching Pending Pods to it and runs our policy-server for each on its own "
      "address (10.244.0.N on lo; needs root), reporting the Pods' status."};
  app.add_option("--kubeconfig", options.kubeconfig, "Admin kubeconfig")->required();
  app.add_option("--policy-server", options.policy_server,
                 "The binary every Pod runs (the Pod's image is ignored)")
      ->required();
  app.add_option("--dir", options.dir, "State folder: pods/, logs/, addresses")->required();
  app.add_option("--node-name", options.node_name, "The Node to register")->capture_default_str();
  app.add_option("--selector", options.selector, "Label selector of the Pods to bind and run")
      ->capture_default_str();
  app.add_option("--namespace", options.ns, "Only Pods of this namespace (default: all)");
  CLI11_PARSE(app, argc, argv);
  options.dir = std::filesystem::absolute(options.dir);

  // Signals go to one thread, which asks the stand-in to stop its processes and addresses.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    stop.store(true);
  });
  int rc = kw::cluster::runKubeletStandin(options, stop);
  if (!stop.load()) pthread_kill(waiter.native_handle(), SIGTERM);  // failed start: end waiter
  waiter.join();
  return rc;
}
