// The policies the scanner audits (spec §5.2): ClusterAdmissionPolicies and AdmissionPolicies
// read from the API, the auditable filter, and the expansion of their rules into the
// group/version/resource triples the scanner lists.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "reports/policy_report.h"

namespace kw::audit {

struct Gvr {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, never a subresource
  auto operator<=>(const Gvr&) const = default;
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  std::string str() const;  // "apps/v1/deployments", "v1/pods"
};

struct AuditPolicy {
  reports::PolicyInfo info;        // what a report result says about the policy
  std::string unique_name;         // clusterwide-<name> | namespaced-<ns>-<name>: /audit/<this>
  std::string policy_server;       // spec.policyServer
  bool auditable = false;          // see isAuditable
  std::vector<Gvr> gvrs;           // rules expanded, subresources dropped
  std::string namespace_selector;  // ClusterAdmissionPolicy: as a labelSelector string
  std::string object_selector;     // spec.objectSelector as a labelSelector string
};

// A policy object as the API returns it; errors name the policy and the field.
Result<AuditPolicy> parsePolicy(const nlohmann::json& object);

// backgroundAudit (default true) && status.policyStatus == active && some rule whose
// operations hold CREATE or "*" and whose groups, versions and resources hold no "*"
// (a wildcard rule cannot be listed, so upstream does not audit it).
bool isAuditable(const nlohmann::json& object);

// Every apiGroup x apiVersion x resource of the auditable rules (sorted, unique). Entries
// with a '/' are subresources (pods/exec): they are no objects of their own and are skipped.
std::vector<Gvr> expandRules(const nlohmann::json& rules);

// metav1.LabelSelector (matchLabels, matchExpressions) as the API's `labelSelector` text.
Result<std::string> labelSelectorText(const nlohmann::json& selector);

// Groups policies by the GVRs they audit: every GVR with the policies (indices) auditing it.
std::map<Gvr, std::vector<size_t>> policiesByGvr(const std::vector<AuditPolicy>& policies);

}  // namespace kw::audit
