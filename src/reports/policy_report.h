// The wgpolicyk8s.io/v1alpha2 PolicyReport model the audit scanner writes (spec §5.3, §6b):
// one report per namespace (`polr-ns-<ns>`) plus `polr-clusterwide` as in 1.10, or one report
// per scanned resource (named by its UID, owned by it) as in 1.11. Pure data and functions:
// the stores (memory, Kubernetes, SQL) only move these values around.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace kw::reports {

inline constexpr const char* kGroup = "wgpolicyk8s.io";
inline constexpr const char* kApiVersion = "wgpolicyk8s.io/v1alpha2";
inline constexpr const char* kSource = "kubewarden";
inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "kubewarden";
inline constexpr const char* kReportVersionLabel = "kubewarden.io/policyreport-version";
inline constexpr const char* kReportVersionValue = "v2";
inline constexpr const char* kRunUidLabel = "kubewarden.io/audit-scanner-run-uid";
inline constexpr const char* kClusterReportName = "polr-clusterwide";
inline constexpr const char* kNamespaceReportPrefix = "polr-ns-";
inline constexpr const char* kPropPolicyResourceVersion = "policy-resource-version";
inline constexpr const char* kPropPolicyUid = "policy-uid";

// A core/v1 ObjectReference as reports carry it (`scope`, `resources[]`); empty fields are
// left out of the JSON.
struct ObjectRef {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
  std::string resource_version;
  bool operator==(const ObjectRef&) const = default;
};

struct OwnerRef {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool operator==(const OwnerRef&) const = default;
};

enum class Outcome { kPass, kFail, kWarn, kError, kSkip };
const char* outcomeName(Outcome o);
Result<Outcome> parseOutcome(const std::string& text);

struct Summary {
  int64_t pass = 0, fail = 0, warn = 0, error = 0, skip = 0;
  bool operator==(const Summary&) const = default;
};

// What a result needs to know about the policy that produced it.
struct PolicyInfo {
  bool cluster_wide = true;  // ClusterAdmissionPolicy, else AdmissionPolicy
  std::string name;
  std::string ns;  // AdmissionPolicy only
  std::string uid;
  std::string resource_version;
  bool monitor = false;  // spec.mode == monitor
  bool mutating = false;
  bool context_aware = false;
  std::string severity;  // annotation io.kubewarden.policy.severity, "" when absent
  std::string category;  // annotation io.kubewarden.policy.category, "" when absent
};

// `cap-<name>` or `ap-<name>`: the `policy` field of a result.
std::string reportPolicyName(const PolicyInfo& policy);

struct Timestamp {
  int64_t seconds = 0;
  int32_t nanos = 0;
  bool operator==(const Timestamp&) const = default;
  static Timestamp now();
};

struct ReportResult {
  std::string source = kSource;
  std::string policy;  // cap-<name> | ap-<name>
  std::string rule;    // the policy's name
  std::string category;
  std::string severity;
  bool scored = false;
  Outcome result = Outcome::kPass;
  Timestamp timestamp;
  std::vector<ObjectRef> resources;  // the subject (one object)
  std::string message;
  std::map<std::string, std::string> properties;
  bool operator==(const ReportResult&) const = default;

  // The subject's UID ("" when the result has no subject) and the policy's UID property.
  std::string subjectUid() const;
  std::string policyUid() const;
};

// The result of evaluating `policy` on `subject`. The message is kept for fail, warn and error
// (a passing verdict's message is dropped, as 1.10 does).
ReportResult makeResult(const PolicyInfo& policy, const ObjectRef& subject, Outcome outcome,
                        std::string message, Timestamp at = Timestamp::now());

enum class ReportKind { kPolicyReport, kClusterPolicyReport };
enum class Granularity { kNamespace, kCluster, kResource };

struct PolicyReport {
  ReportKind kind = ReportKind::kPolicyReport;
  std::string name;
  std::string ns;  // PolicyReport only
  std::map<std::string, std::string> labels;
  std::vector<OwnerRef> owners;
  std::optional<ObjectRef> scope;
  Summary summary;
  std::vector<ReportResult> results;
  // Policies not evaluated at all (not auditable): added to summary.skip on top of skip results.
  int64_t skipped_policies = 0;
  // metadata.resourceVersion as read from the API server ("" for a new report).
  std::string resource_version;

  Granularity granularity() const;
  std::string runUid() const;  // the run-uid label, "" when absent
};

// 1.10: the report of namespace `ns_object` (a Namespace reference: name, uid, ...).
PolicyReport namespaceReport(const ObjectRef& ns_object, const std::string& run_uid = {});
// 1.10: the single ClusterPolicyReport for cluster-scoped resources.
PolicyReport clusterReport(const std::string& run_uid = {});
// 1.11: the report of one resource (a ClusterPolicyReport when it has no namespace).
PolicyReport resourceReport(const ObjectRef& resource, const std::string& run_uid);

// Adds `result`, replacing the result for the same (subject UID, policy UID) if there is one,
// and recomputes the summary.
void upsertResult(PolicyReport& report, ReportResult result);
// Removes results whose subject is not in `live_resources` or whose policy is not in
// `live_policies` (UIDs), recomputes the summary; how many were removed.
size_t dropStale(PolicyReport& report, const std::set<std::string>& live_resources,
                 const std::set<std::string>& live_policies);
// Counts the results (plus skipped_policies into skip).
void recomputeSummary(PolicyReport& report);
// A previous result that still holds: same policy UID and resourceVersion, same subject UID
// and resourceVersion. Null when the policy or the resource changed (or was never scanned).
const ReportResult* findReusable(const PolicyReport& report, const PolicyInfo& policy,
                                 const ObjectRef& resource);

nlohmann::json toJson(const ObjectRef& ref);
nlohmann::json toJson(const ReportResult& result);
nlohmann::json toJson(const PolicyReport& report);
Result<ObjectRef> objectRefFromJson(const nlohmann::json& j, const std::string& where);
Result<ReportResult> resultFromJson(const nlohmann::json& j, const std::string& where);
// Reads a PolicyReport/ClusterPolicyReport object (any wgpolicyk8s.io version with the
// v1alpha2 shape); errors name the field.
Result<PolicyReport> reportFromJson(const nlohmann::json& j);
// The same report read straight from its JSON text with simdjson (several times faster, for the
// reports a scan reads back); nullopt for anything malformed, for which reportFromJson on the
// parsed text gives the precise error.
std::optional<PolicyReport> reportFromJsonText(std::string_view text);

}  // namespace kw::reports
