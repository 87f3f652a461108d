// The objects that register a policy-server with a real kube-apiserver: Validating- and
// MutatingWebhookConfigurations, and the Service plus EndpointSlice that let the API server
// reach a process on loopback through `clientConfig.service` (it runs with
// --enable-aggregator-routing=true, so it resolves Services through EndpointSlices itself).
// Used by the end-to-end tests and by `make cluster`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kw::cluster {

// Where the API server finds the policy-server, and the CA that signed its certificate.
struct WebhookTarget {
  // Either a URL base ("https://127.0.0.1:PORT") ...
  std::string url_base;
  // ... or a Service (the port is the Service's, not the process's).
  std::string service_namespace, service_name;
  int service_port = 443;
  std::string ca_pem;  // goes into caBundle
};

struct Webhook {
  std::string name;                     // fully qualified, e.g. "pod-privileged.kubewarden.io"
  std::string policy;                   // the policy id: the API server POSTs to /validate/<policy>
  std::string failure_policy = "Fail";  // or "Ignore"
  int timeout_seconds = 10;
  nlohmann::json namespace_selector = nlohmann::json::object();  // {}: every namespace
  nlohmann::json object_selector = nlohmann::json::object();
  // Default: Pods, CREATE and UPDATE (what our guests' metadata declare).
  nlohmann::json rules = podRules();

  static nlohmann::json podRules();
};

// kind: "ValidatingWebhookConfiguration" or "MutatingWebhookConfiguration". Every webhook gets
// sideEffects None (so dry-run requests reach it too) and admissionReviewVersions [v1].
nlohmann::json webhookConfiguration(const std::string& kind, const std::string& name,
                                    const std::vector<Webhook>& webhooks,
                                    const WebhookTarget& target);
// The REST collection path of a configuration kind, for POST and DELETE.
std::string webhookConfigurationPath(const std::string& kind);

// A Service without a selector (nothing but us writes its endpoints) with one port named
// `port_name`, and the EndpointSlice that points that port at 127.0.0.1:`target_port`. The API
// refuses loopback endpoint addresses, so that slice has to be written to etcd (tests do it
// with support/cluster_env.h's storeInEtcd).
nlohmann::json loopbackService(const std::string& ns, const std::string& name,
                               const std::string& port_name, int port);
nlohmann::json loopbackEndpointSlice(const std::string& ns, const std::string& service,
                                     const std::string& port_name, uint16_t target_port);

// {"matchLabels": {"kubernetes.io/metadata.name": ns}}: one namespace only.
nlohmann::json onlyNamespace(const std::string& ns);

}  // namespace kw::cluster
