// The two files of a policy-server's ConfigMap (spec §1.4, §1.5, §4.3), as the controller writes
// them: JSON documents (policy-server reads JSON as YAML).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kw::controller {

// One policies.yml entry for a ClusterAdmissionPolicy or AdmissionPolicy object:
// {"namespacedName":{"Namespace","Name"},"url","policyMode","allowedToMutate",
//  "contextAwareResources" (omitted when empty; always empty for AdmissionPolicy),
//  "settings" (null when the policy has none, as upstream marshals it)}.
nlohmann::json policyConfigEntry(const nlohmann::json& policy);

// policies.yml: every policy's entry keyed by its unique name (clusterwide-…/namespaced-…).
nlohmann::json policiesYml(const std::vector<nlohmann::json>& policies);

// sources.yml of a PolicyServer object: {"insecure_sources":[...],
// "source_authorities":{"<host[:port]>":[{"type":"Data","data":"<PEM>"}]}}. Upstream marshals
// both keys with omitempty, so an empty list or map is left out: {} when neither is set.
nlohmann::json sourcesYml(const nlohmann::json& policy_server);

// The policies.yml entry of `unique_name` in a live policy-server ConfigMap; nullopt when the
// ConfigMap has no such entry or its policies.yml is not JSON ("is the policy deployed?").
std::optional<nlohmann::json> configEntryOf(const nlohmann::json& config_map,
                                            std::string_view unique_name);

// The mode a policy is served in, for status.mode: the entry's policyMode, else "unknown".
std::string observedPolicyMode(const nlohmann::json& config_map, std::string_view unique_name);

}  // namespace kw::controller
