#include "reports/memory_store.h"

namespace kw::reports {

Status MemoryStore::beginRun(const std::string& run_uid) {
  std::lock_guard lock(mu_);
  return run_.begin(run_uid);
}

Status MemoryStore::commitRun() {
  std::lock_guard lock(mu_);
  return run_.commit();
}

Status MemoryStore::abortRun() {
  std::lock_guard lock(mu_);
  run_.abort();
  return okStatus();
}

Result<std::optional<PolicyReport>> MemoryStore::get(const Key& key) {
  std::lock_guard lock(mu_);
  const auto& map = key.first.empty() ? cluster_ : namespaced_;
  auto it = map.find(key);
  if (it == map.end()) return std::optional<PolicyReport>();
  return std::optional<PolicyReport>(it->second);
}

Status MemoryStore::put(PolicyReport report) {
  if (report.name.empty()) return makeError("a policy report needs a name");
  bool cluster = report.kind == ReportKind::kClusterPolicyReport;
  if (cluster != report.ns.empty())
    return makeError("report " + report.name +
                     (cluster ? ": a ClusterPolicyReport has no namespace"
                              : ": a PolicyReport needs a namespace"));
  recomputeSummary(report);
  std::lock_guard lock(mu_);
  // Stamped with the run so deleteStale can tell this run's reports from older ones.
  if (!run_.uid().empty()) report.labels[kRunUidLabel] = run_.uid();
  Key key{report.ns, report.name};
  (cluster ? cluster_ : namespaced_)[key] = std::move(report);
  return okStatus();
}

Result<std::optional<PolicyReport>> MemoryStore::getNamespaceReport(const std::string& ns) {
  return get({ns, kNamespaceReportPrefix + ns});
}

Result<std::optional<PolicyReport>> MemoryStore::getClusterReport() {
  return get({"", kClusterReportName});
}

Status MemoryStore::saveNamespaceReport(const PolicyReport& report) {
  return put(report);
}

Status MemoryStore::saveClusterReport(const PolicyReport& report) {
  return put(report);
}

Result<std::optional<PolicyReport>> MemoryStore::getResourceReport(const std::string& ns,
                                                                   const std::string& uid) {
  return get({ns, uid});
}

Status MemoryStore::saveResourceReport(const PolicyReport& report) {
  return put(report);
}

Status MemoryStore::deleteStale(const StaleScope& scope) {
  std::lock_guard lock(mu_);
  if (run_.uid().empty()) return makeError("deleteStale needs a run in progress");
  auto stale = [&](const PolicyReport& r) { return r.runUid() != run_.uid(); };
  if (scope.which != StaleScope::Which::kClusterWide)
    std::erase_if(namespaced_, [&](const auto& kv) {
      return (scope.which == StaleScope::Which::kAll || kv.first.first == scope.ns) &&
             stale(kv.second);
    });
  if (scope.which != StaleScope::Which::kNamespace)
    std::erase_if(cluster_, [&](const auto& kv) { return stale(kv.second); });
  return okStatus();
}

std::vector<PolicyReport> MemoryStore::all() const {
  std::lock_guard lock(mu_);
  std::vector<PolicyReport> out;
  for (const auto& [k, r] : namespaced_) out.push_back(r);
  for (const auto& [k, r] : cluster_) out.push_back(r);
  return out;
}

}  // namespace kw::reports
