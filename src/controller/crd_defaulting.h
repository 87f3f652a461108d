// Defaulting of our CRDs, as kubewarden-controller's mutating webhooks do it (spec §4.1): the
// finalizer `kubewarden` on every object not being deleted, and on policies the PolicyServer
// from --default-policy-server plus the schema's defaults. Pure: it returns the RFC 6902 JSON
// Patch operations that turn the object into its defaulted form (empty: nothing to change).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "controller/options.h"

namespace kw::controller {

// The PolicyServer a policy without one gets: the flag's value, else "default".
std::string defaultPolicyServer(const ControllerOptions& options);

nlohmann::json policyDefaultingPatch(const nlohmann::json& policy,
                                     const ControllerOptions& options);
nlohmann::json policyServerDefaultingPatch(const nlohmann::json& policy_server);

// Applies "add" operations of the kind these functions produce (for tests and callers that
// default objects before they reach the API server).
nlohmann::json applyDefaultingPatch(nlohmann::json object, const nlohmann::json& patch);

}  // namespace kw::controller
