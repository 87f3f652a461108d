// The controller's settings (spec §4.2): what every reconciler and object builder reads.
#pragma once

#include <string>

namespace kw::controller {

struct ControllerOptions {
  // Where policy-servers, their Secrets, ConfigMaps and Services live (--deployments-namespace).
  std::string deployments_namespace = "kubewarden";
  // Policies without spec.policyServer get this one (--default-policy-server; empty: "default").
  std::string default_policy_server;
  bool enable_metrics = false;  // --enable-metrics: metrics port on Services, env on Deployments
  bool enable_tracing = false;  // --enable-tracing: KUBEWARDEN_LOG_FMT=otlp on Deployments
  // --always-accept-admission-reviews-on-deployments-namespace
  bool always_accept_admission_reviews_on_deployments_namespace = false;
  // KUBEWARDEN_POLICY_SERVER_SERVICES_METRICS_PORT
  int policy_server_metrics_port = 8080;
};

}  // namespace kw::controller
