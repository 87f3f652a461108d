#include "cluster/webhooks.h"

#include "common/base64.h"

namespace kw::cluster {
using nlohmann::json;

json Webhook::podRules() {
  return json::array({{{"apiGroups", {""}},
                       {"apiVersions", {"v1"}},
                       {"resources", {"pods"}},
                       {"operations", {"CREATE", "UPDATE"}},
                       {"scope", "Namespaced"}}});
}

json webhookConfiguration(const std::string& kind, const std::string& name,
                          const std::vector<Webhook>& webhooks, const WebhookTarget& target) {
  json list = json::array();
  for (const auto& w : webhooks) {
    std::string path = "/validate/" + w.policy;
    json client = {{"caBundle", base64Encode(target.ca_pem)}};
    if (!target.url_base.empty()) {
      client["url"] = target.url_base + path;
    } else {
      client["service"] = {{"namespace", target.service_namespace},
                           {"name", target.service_name},
                           {"port", target.service_port},
                           {"path", path}};
    }
    json hook = {{"name", w.name},
                 {"clientConfig", client},
                 {"rules", w.rules},
                 {"failurePolicy", w.failure_policy},
                 {"matchPolicy", "Equivalent"},
                 {"sideEffects", "None"},
                 {"admissionReviewVersions", {"v1"}},
                 {"timeoutSeconds", w.timeout_seconds},
                 {"namespaceSelector", w.namespace_selector},
                 {"objectSelector", w.object_selector}};
    if (kind == "MutatingWebhookConfiguration") hook["reinvocationPolicy"] = "Never";
    list.push_back(std::move(hook));
  }
  return {
      {"apiVersion", "admissionregistration.k8s.io/v1"},
      {"kind", kind},
      {"metadata", {{"name", name}, {"labels", {{"app.kubernetes.io/part-of", "kubewarden-cpp"}}}}},
      {"webhooks", std::move(list)}};
}

std::string webhookConfigurationPath(const std::string& kind) {
  return kind == "MutatingWebhookConfiguration"
             ? "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
             : "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
}

json loopbackService(const std::string& ns, const std::string& name, const std::string& port_name,
                     int port) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"ports", json::array({{{"name", port_name}, {"port", port}, {"protocol", "TCP"}}})}}}};
}

json loopbackEndpointSlice(const std::string& ns, const std::string& service,
                           const std::string& port_name, uint16_t target_port) {
  // The label ties the slice to its Service; the port's name must equal the Service port's.
  return {
      {"apiVersion", "discovery.k8s.io/v1"},
      {"kind", "EndpointSlice"},
      {"metadata",
       {{"name", service + "-loopback"},
        {"namespace", ns},
        {"labels",
         {{"kubernetes.io/service-name", service},
          {"endpointslice.kubernetes.io/managed-by", "kubewarden-cpp.tests"}}}}},
      {"addressType", "IPv4"},
      {"endpoints",
       json::array({{{"addresses", {"127.0.0.1"}}, {"conditions", {{"ready", true}}}}})},
      {"ports", json::array({{{"name", port_name}, {"port", target_port}, {"protocol", "TCP"}}})}};
}

json onlyNamespace(const std::string& ns) {
  return {{"matchLabels", {{"kubernetes.io/metadata.name", ns}}}};
}

}  // namespace kw::cluster
