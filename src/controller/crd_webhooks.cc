#include "controller/crd_webhooks.h"

#include "common/base64.h"
#include "controller/crd_admission.h"
#include "controller/names.h"

namespace kw::controller {
namespace {

using nlohmann::json;

json clientConfig(const CrdWebhookTarget& target, const std::string& path) {
  json config;
  if (!target.url_base.empty()) {
    config["url"] = target.url_base + path;
  } else {
    config["service"] = {{"namespace", target.service_namespace},
                         {"name", target.service_name},
                         {"path", path},
                         {"port", target.service_port}};
  }
  if (!target.ca_pem.empty()) config["caBundle"] = base64Encode(target.ca_pem);
  return config;
}

json webhookEntry(const CrdWebhook& webhook, const CrdWebhookTarget& target,
                  const CrdWebhookOptions& options) {
  json entry = {{"name", webhook.name},
                {"admissionReviewVersions", {"v1"}},
                {"clientConfig", clientConfig(target, webhook.path)},
                {"failurePolicy", "Fail"},
                {"matchPolicy", "Equivalent"},
                {"sideEffects", "None"},
                {"timeoutSeconds", options.timeout_seconds},
                {"rules",
                 {{{"apiGroups", {std::string(kGroup)}},
                   {"apiVersions", {"v1"}},
                   {"operations", {"CREATE", "UPDATE"}},
                   {"resources", {webhook.resource}}}}}};
  if (!options.object_selector.is_null()) entry["objectSelector"] = options.object_selector;
  if (!options.namespace_selector.is_null())
    entry["namespaceSelector"] = options.namespace_selector;
  return entry;
}

json configuration(const std::string& kind, const std::string& name, AdmissionAction action,
                   const CrdWebhookTarget& target, const CrdWebhookOptions& options) {
  json webhooks = json::array();
  for (const CrdWebhook& webhook : crdWebhooks())
    if (webhook.action == action) webhooks.push_back(webhookEntry(webhook, target, options));
  return {{"apiVersion", "admissionregistration.k8s.io/v1"},
          {"kind", kind},
          {"metadata", {{"name", name}}},
          {"webhooks", webhooks}};
}

}  // namespace

json crdMutatingWebhookConfiguration(const CrdWebhookTarget& target,
                                     const CrdWebhookOptions& options) {
  return configuration("MutatingWebhookConfiguration", options.mutating_name,
                       AdmissionAction::kMutate, target, options);
}

json crdValidatingWebhookConfiguration(const CrdWebhookTarget& target,
                                       const CrdWebhookOptions& options) {
  return configuration("ValidatingWebhookConfiguration", options.validating_name,
                       AdmissionAction::kValidate, target, options);
}

}  // namespace kw::controller
