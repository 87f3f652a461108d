// The kubewarden-controller process (spec §4.2): flags, kube config, probes and metrics
// listeners, leader election, the controller, and graceful shutdown on SIGTERM/SIGINT.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "controller/options.h"

namespace kw::controller {

struct RunConfig {
  ControllerOptions options;
  std::string metrics_bind_address = ":8088";  // "0" turns the listener off
  std::string health_probe_bind_address = ":8081";
  bool leader_elect = false;
  std::string opentelemetry_endpoint = "127.0.0.1:4317";
  std::string kubeconfig;  // empty: $KUBECONFIG, ~/.kube/config, then in-cluster
  std::string log_level = "info";
  std::string leader_election_id = "a4ddbf36.kubewarden.io";
  // The CRD admission webhook server (controller-runtime's defaults): tls.crt and tls.key in
  // the cert dir; without them the server stays off (the API server then cannot call it).
  std::string webhook_bind_address = ":9443";
  std::string webhook_cert_dir = "/tmp/k8s-webhook-server/serving-certs";
  std::string label_selector;  // hidden: see Controller::Tuning::label_selector
  int leader_lease_seconds = 15, leader_renew_seconds = 10, leader_retry_seconds = 2;
};

// Parses argv (CLI11); an error message for bad flags, nullopt after printing --help.
Result<std::optional<RunConfig>> parseRunConfig(int argc, char** argv);

// "host:port" / ":port" → (host, port); the host defaults to 0.0.0.0.
Result<std::pair<std::string, uint16_t>> parseBindAddress(const std::string& address);

// The whole process; the exit code.
int run(int argc, char** argv);

}  // namespace kw::controller
