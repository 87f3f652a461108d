// A policy's status as data (spec §4.5): the conditions, the observed mode and upstream's
// isPolicyUniquelyReachable, computed from cached objects so the reconciler only decides and
// writes. Conditions follow apimeta.SetStatusCondition: lastTransitionTime changes only when the
// condition's status does, so re-running a reconcile produces the same status and no write.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kw::controller {

inline constexpr std::string_view kStatusUnscheduled = "unscheduled";
inline constexpr std::string_view kStatusScheduled = "scheduled";
inline constexpr std::string_view kStatusPending = "pending";
inline constexpr std::string_view kStatusActive = "active";
inline constexpr std::string_view kConditionPolicyActive = "PolicyActive";
inline constexpr std::string_view kConditionConfigUpToDate = "PolicyServerConfigurationUpToDate";
inline constexpr std::string_view kConditionUniquelyReachable = "PolicyUniquelyReachable";
inline constexpr std::string_view kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr std::string_view kPodTemplateHashLabel = "pod-template-hash";

// Sets (or adds) condition `type` in the array `conditions`; `now` is an RFC 3339 time used
// only when the status changes or the condition is new.
void setCondition(nlohmann::json& conditions, std::string_view type, bool status,
                  std::string_view reason, std::string_view message, const std::string& now);
// The condition's "status" ("True"/"False"), or "" when absent.
std::string conditionStatus(const nlohmann::json& status, std::string_view type);

// PolicyServerConfigurationUpToDate from the Deployment's kubewarden/config-version annotation
// against the ConfigMap's resourceVersion.
void setConfigurationCondition(nlohmann::json& conditions, const nlohmann::json& deployment,
                               const std::optional<nlohmann::json>& config_map,
                               const std::string& now);

// Upstream's isPolicyUniquelyReachable: the policy is in the ConfigMap; a ReplicaSet of the
// PolicyServer has the Deployment's revision and the ConfigMap's resourceVersion as config
// version; and there is at least one Pod, every one with that ReplicaSet's pod-template-hash
// and Ready.
bool isPolicyUniquelyReachable(const nlohmann::json& deployment,
                               const std::optional<nlohmann::json>& config_map,
                               const std::vector<nlohmann::json>& replica_sets,
                               const std::vector<nlohmann::json>& pods,
                               std::string_view unique_name);

// RFC 3339 UTC, seconds precision (metav1.Time).
std::string rfc3339Now();

}  // namespace kw::controller
