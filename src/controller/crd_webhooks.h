// The Mutating- and ValidatingWebhookConfiguration that route our CRDs to the controller's
// webhook server (admission_server.h): one webhook per kind and action, upstream's names
// (mpolicyserver.kb.io, ...) and paths, CREATE and UPDATE on policies.kubewarden.io/v1
// (matchPolicy Equivalent, so v1alpha2 requests arrive converted to v1), failurePolicy Fail,
// sideEffects None. For tests and the kubewarden-controller Helm chart.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kw::controller {

struct CrdWebhookTarget {
  // Either a URL base ("https://127.0.0.1:9443") ...
  std::string url_base;
  // ... or the controller's Service.
  std::string service_namespace, service_name;
  int service_port = 443;
  std::string ca_pem;  // signs the server's certificate; goes into caBundle (base64)
};

struct CrdWebhookOptions {
  // The configurations' names, upstream's by default.
  std::string mutating_name = "kubewarden-controller-mutating-webhook-configuration";
  std::string validating_name = "kubewarden-controller-validating-webhook-configuration";
  // Narrow the webhooks (tests share one API server): null leaves the field out.
  nlohmann::json object_selector;
  nlohmann::json namespace_selector;
  int timeout_seconds = 10;
};

nlohmann::json crdMutatingWebhookConfiguration(const CrdWebhookTarget& target,
                                               const CrdWebhookOptions& options = {});
nlohmann::json crdValidatingWebhookConfiguration(const CrdWebhookTarget& target,
                                                 const CrdWebhookOptions& options = {});

}  // namespace kw::controller
