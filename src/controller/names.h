// Names, labels and annotations shared by the controller's objects (spec §4.1, §4.3, §4.4), so
// builders, reconcilers, the webhook-repair mapping and tests agree on one spelling.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace kw::controller {

inline constexpr std::string_view kGroup = "policies.kubewarden.io";
inline constexpr std::string_view kFinalizer = "kubewarden";
inline constexpr std::string_view kRootCaSecret = "policy-server-root-ca";
inline constexpr std::string_view kPolicyServerLabel = "kubewarden/policy-server";
inline constexpr std::string_view kConfigVersionAnnotation = "kubewarden/config-version";
// On webhook configurations: which policy owns them (the 1.10 repair mapping).
inline constexpr std::string_view kWebhookLabel = "kubewarden";
inline constexpr std::string_view kWebhookScopeLabel = "kubewardenPolicyScope";
inline constexpr std::string_view kWebhookPolicyNameAnnotation = "kubewardenPolicyName";
inline constexpr std::string_view kWebhookPolicyNamespaceAnnotation = "kubewardenPolicyNamespace";

enum class PolicyKind { kCluster, kNamespaced };

// "clusterwide-<name>" or "namespaced-<namespace>-<name>": the policy id in policies.yml, the
// webhook configuration's name and the /validate/<id> path.
std::string uniqueName(PolicyKind kind, std::string_view ns, std::string_view name);
// The same from a ClusterAdmissionPolicy or AdmissionPolicy object (its kind decides).
std::string uniqueName(const nlohmann::json& policy);
PolicyKind policyKind(const nlohmann::json& policy);

// "policy-server-<ps>": the Deployment, Service, ConfigMap and serving Secret of a PolicyServer.
std::string policyServerObjectName(std::string_view policy_server);
// "kubewarden-policy-server-<ps>": the `app` label and Service selector.
std::string policyServerAppLabel(std::string_view policy_server);

}  // namespace kw::controller
