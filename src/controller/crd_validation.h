// Validation of our CRDs, as kubewarden-controller's validating webhooks do it (spec §4.1):
// pure functions from objects (JSON, any served version) to field errors, so the admission
// server, the unit tests and anything else share one rule set.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "controller/field_errors.h"
#include "controller/options.h"

namespace kw::controller {

// spec.rules: at least one rule, each with operations, apiVersions and resources, none of them
// "" (upstream's texts and paths).
FieldErrors validatePolicyRules(const nlohmann::json& policy);
// spec.timeoutSeconds within 1..30, the range the API server accepts on webhooks.
FieldErrors validatePolicyTimeout(const nlohmann::json& policy);
// A new ClusterAdmissionPolicy or AdmissionPolicy: the rules and the timeout.
FieldErrors validatePolicyCreate(const nlohmann::json& policy);
// An update: the create rules, then spec.policyServer unchanged and no protect -> monitor.
// Like upstream, the create errors alone are reported when there are any.
FieldErrors validatePolicyUpdate(const nlohmann::json& old_policy, const nlohmann::json& policy);

// The type of Secret `name` in `ns` ("kubernetes.io/dockerconfigjson", "Opaque", ...), nullopt
// when there is none, an Error when it can't be read.
using SecretTypeLookup = std::function<Result<std::optional<std::string>>(const std::string& ns,
                                                                          const std::string& name)>;

// A PolicyServer (create or update): name at most 63 characters, imagePullSecret a
// kubernetes.io/dockerconfigjson Secret in the deployments namespace, and not both
// minAvailable and maxUnavailable.
FieldErrors validatePolicyServer(const nlohmann::json& policy_server,
                                 const ControllerOptions& options, const SecretTypeLookup& lookup);

}  // namespace kw::controller
