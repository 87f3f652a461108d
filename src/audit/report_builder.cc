#include "audit/report_builder.h"

#include <algorithm>
#include <map>

namespace kw::audit {
namespace {

void sortResults(std::vector<reports::ReportResult>& results) {
  std::sort(results.begin(), results.end(), [](const auto& a, const auto& b) {
    return std::pair(a.subjectUid(), a.policy) < std::pair(b.subjectUid(), b.policy);
  });
}

}  // namespace

reports::PolicyReport scopeReport(const reports::ObjectRef& ns_ref,
                                  std::vector<reports::ReportResult> results, int64_t skipped,
                                  const std::string& run_uid) {
  reports::PolicyReport report = ns_ref.name.empty() ? reports::clusterReport(run_uid)
                                                     : reports::namespaceReport(ns_ref, run_uid);
  sortResults(results);
  report.results = std::move(results);
  report.skipped_policies = skipped;
  reports::recomputeSummary(report);
  return report;
}

std::vector<reports::PolicyReport> resourceReports(std::vector<reports::ReportResult> results,
                                                   const std::string& run_uid) {
  sortResults(results);
  std::map<std::string, reports::PolicyReport> by_uid;
  for (reports::ReportResult& r : results) {
    if (r.resources.empty()) continue;
    auto it = by_uid.find(r.subjectUid());
    if (it == by_uid.end())
      it = by_uid.emplace(r.subjectUid(), reports::resourceReport(r.resources.front(), run_uid))
               .first;
    it->second.results.push_back(std::move(r));
  }
  std::vector<reports::PolicyReport> out;
  for (auto& [uid, report] : by_uid) {
    reports::recomputeSummary(report);
    out.push_back(std::move(report));
  }
  return out;
}

}  // namespace kw::audit
