#include "controller/webhook_objects.h"

#include "common/base64.h"
#include "controller/names.h"
#include "controller/policy_server_objects.h"

namespace kw::controller {
namespace {

using nlohmann::json;

constexpr std::string_view kNamespaceNameLabel = "kubernetes.io/metadata.name";

const json& specOf(const json& policy) {
  static const json kEmpty = json::object();
  auto it = policy.find("spec");
  return it != policy.end() && it->is_object() ? *it : kEmpty;
}

bool isMutating(const json& policy) {
  const json& spec = specOf(policy);
  return spec.contains("mutating") && spec["mutating"].is_boolean() && spec["mutating"].get<bool>();
}

std::string metaString(const json& policy, const char* key) {
  auto it = policy.find("metadata");
  return it != policy.end() && it->is_object() ? it->value(key, "") : "";
}

// The spec value of `key`, or `fallback` (the value the API server would default) when unset.
json specOr(const json& spec, const char* key, json fallback) {
  auto it = spec.find(key);
  return it != spec.end() && !it->is_null() ? *it : fallback;
}

// AdmissionPolicy: every rule Namespaced. Otherwise an unset scope becomes "*", the API default.
json rules(const json& spec, PolicyKind kind) {
  json out = json::array();
  if (!spec.contains("rules") || !spec["rules"].is_array()) return out;
  for (json rule : spec["rules"]) {
    if (kind == PolicyKind::kNamespaced)
      rule["scope"] = "Namespaced";
    else if (!rule.contains("scope") || rule["scope"].is_null())
      rule["scope"] = "*";
    out.push_back(std::move(rule));
  }
  return out;
}

// ClusterAdmissionPolicy: its selector plus "not in the deployments namespace", so a policy
// cannot lock Kubewarden out of its own namespace. AdmissionPolicy: its own namespace only.
json namespaceSelector(const json& policy, PolicyKind kind, const ControllerOptions& opts) {
  if (kind == PolicyKind::kNamespaced)
    return {{"matchLabels", {{kNamespaceNameLabel, metaString(policy, "namespace")}}}};
  json selector = specOr(specOf(policy), "namespaceSelector", json::object());
  json& expressions = selector["matchExpressions"];
  if (!expressions.is_array()) expressions = json::array();
  expressions.push_back({{"key", kNamespaceNameLabel},
                         {"operator", "NotIn"},
                         {"values", json::array({opts.deployments_namespace})}});
  return selector;
}

}  // namespace

std::string webhookConfigurationKind(const json& policy) {
  return isMutating(policy) ? "MutatingWebhookConfiguration" : "ValidatingWebhookConfiguration";
}

std::string webhookConfigurationResource(const json& policy) {
  return isMutating(policy) ? "mutatingwebhookconfigurations" : "validatingwebhookconfigurations";
}

std::string policyServerOf(const json& policy, const ControllerOptions& opts) {
  const json& spec = specOf(policy);
  if (spec.contains("policyServer") && spec["policyServer"].is_string() &&
      !spec["policyServer"].get<std::string>().empty())
    return spec["policyServer"].get<std::string>();
  return opts.default_policy_server.empty() ? "default" : opts.default_policy_server;
}

json webhookConfiguration(const json& policy, std::string_view ca_pem,
                          const ControllerOptions& opts) {
  const PolicyKind kind = policyKind(policy);
  const std::string unique = uniqueName(policy);
  const json& spec = specOf(policy);
  json webhook = {
      {"name", unique + ".kubewarden.admission"},
      {"clientConfig",
       {{"service",
         {{"namespace", opts.deployments_namespace},
          {"name", policyServerObjectName(policyServerOf(policy, opts))},
          {"path", "/validate/" + unique},
          {"port", kPolicyServerPort}}},
        // []byte in the Go API: base64 of the PEM text on the wire.
        {"caBundle", base64Encode(ca_pem)}}},
      {"rules", rules(spec, kind)},
      {"failurePolicy", specOr(spec, "failurePolicy", "Fail")},
      {"matchPolicy", specOr(spec, "matchPolicy", "Equivalent")},
      {"namespaceSelector", namespaceSelector(policy, kind, opts)},
      {"objectSelector", specOr(spec, "objectSelector", json::object())},
      {"sideEffects", specOr(spec, "sideEffects", "None")},
      {"timeoutSeconds", specOr(spec, "timeoutSeconds", 10)},
      {"admissionReviewVersions", json::array({"v1"})},
  };
  // The API server defaults reinvocationPolicy on mutating webhooks; say it, so stored == ours.
  if (isMutating(policy)) webhook["reinvocationPolicy"] = "Never";
  return {{"apiVersion", "admissionregistration.k8s.io/v1"},
          {"kind", webhookConfigurationKind(policy)},
          {"metadata",
           {{"name", unique},
            {"labels",
             {{kWebhookLabel, "true"},
              {kWebhookScopeLabel, kind == PolicyKind::kCluster ? "cluster" : "namespace"}}},
            {"annotations",
             {{kWebhookPolicyNameAnnotation, metaString(policy, "name")},
              {kWebhookPolicyNamespaceAnnotation, metaString(policy, "namespace")}}}}},
          {"webhooks", json::array({std::move(webhook)})}};
}

std::optional<PolicyRef> policyOfWebhookConfiguration(const json& configuration) {
  const json& meta = configuration.contains("metadata") ? configuration["metadata"] : json();
  auto text = [&](const char* map, std::string_view key) -> std::optional<std::string> {
    if (!meta.is_object() || !meta.contains(map) || !meta[map].is_object()) return std::nullopt;
    auto it = meta[map].find(key);
    if (it == meta[map].end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto scope = text("labels", kWebhookScopeLabel);
  auto name = text("annotations", kWebhookPolicyNameAnnotation);
  if (!text("labels", kWebhookLabel) || !scope || !name) return std::nullopt;
  if (*scope == "cluster") return PolicyRef{PolicyKind::kCluster, "", *name};
  auto ns = text("annotations", kWebhookPolicyNamespaceAnnotation);
  if (*scope == "namespace" && ns) return PolicyRef{PolicyKind::kNamespaced, *ns, *name};
  return std::nullopt;
}

}  // namespace kw::controller
