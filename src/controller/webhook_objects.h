// The webhook configuration of one policy (spec §4.4), computed as data.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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

}  // namespace kw::controller
