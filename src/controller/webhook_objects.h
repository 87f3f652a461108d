// The webhook configuration of one policy (spec §4.4), computed as data.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "controller/names.h"
#include "controller/options.h"

namespace kw::controller {

// "ValidatingWebhookConfiguration" or, when spec.mutating, "MutatingWebhookConfiguration".
std::string webhookConfigurationKind(const nlohmann::json& policy);
// The collection path below /apis/admissionregistration.k8s.io/v1/ for that kind
// ("validatingwebhookconfigurations" / "mutatingwebhookconfigurations").
std::string webhookConfigurationResource(const nlohmann::json& policy);

// The PolicyServer a policy runs on: spec.policyServer, else opts.default_policy_server, else
// "default".
std::string policyServerOf(const nlohmann::json& policy, const ControllerOptions& opts);

// The full configuration for a ClusterAdmissionPolicy or AdmissionPolicy: name = unique name,
// labels kubewarden=true and kubewardenPolicyScope, annotations kubewardenPolicyName/Namespace,
// one webhook `<unique>.kubewarden.admission` calling service policy-server-<ps> in the
// deployments namespace at /validate/<unique>:8443 with caBundle = base64(ca_pem).
// Fields the API server would default are written with those defaults (failurePolicy Fail,
// matchPolicy Equivalent, sideEffects None, timeoutSeconds 10, empty selectors, rule scope "*"),
// so that the stored object equals this one and a comparison means something.
nlohmann::json webhookConfiguration(const nlohmann::json& policy, std::string_view ca_pem,
                                    const ControllerOptions& opts);

// Which policy a webhook configuration belongs to (the 1.10 repair mapping, spec §4.5): label
// kubewarden, label kubewardenPolicyScope "cluster" (ClusterAdmissionPolicy <name>) or
// "namespace" (AdmissionPolicy <namespace>/<name>) and the kubewardenPolicyName (and, for
// "namespace", kubewardenPolicyNamespace) annotations. nullopt when any is missing or the scope
// is something else: such a configuration is not ours to repair.
struct PolicyRef {
  PolicyKind kind;
  std::string ns;  // "" for a ClusterAdmissionPolicy
  std::string name;
  bool operator==(const PolicyRef&) const = default;
};
std::optional<PolicyRef> policyOfWebhookConfiguration(const nlohmann::json& configuration);

}  // namespace kw::controller
