// kube-fake: the fake Kubernetes API server (a test double) as a standalone process, for
// benchmarks and manual experiments. Serves until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "kube-fake/fake_api_server.h"
#include "kube-fake/fake_objects.h"

int main(int argc, char** argv) {
  CLI::App app{"fake Kubernetes API server (test double)"};
  uint16_t port = 0;
  std::string kubeconfig_out;
  size_t namespaces = 0, ingresses = 0;
  app.add_option("--port", port, "port on 127.0.0.1 (0: any free port)");
  app.add_option("--kubeconfig-out", kubeconfig_out, "write a kubeconfig for clients here");
  app.add_option("--namespaces", namespaces, "generate this many Namespaces");
  app.add_option("--ingresses", ingresses, "generate this many Ingresses");
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread inherits the mask

  kw::kube::fake::FakeApiServer::Options options;
  options.port = port;
  auto server = kw::kube::fake::FakeApiServer::start(options);
  if (!server) {
    std::cerr << server.error().message << "\n";
    return 1;
  }
  kw::kube::fake::populate(**server, namespaces, ingresses);
  if (!kubeconfig_out.empty()) {
    if (auto s = (*server)->writeKubeconfig(kubeconfig_out); !s) {
      std::cerr << s.error().message << "\n";
      return 1;
    }
  }
  std::cout << "kube-fake serving " << (*server)->url() << " (" << namespaces << " namespaces, "
            << ingresses << " ingresses)" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}
