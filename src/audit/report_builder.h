// Turns one scope's results (a namespace, or the cluster-scoped resources) into the reports
// the store receives: 1.10's single report per scope, or 1.11's one report per resource.
#pragma once

#include <string>
#include <vector>

#include "reports/policy_report.h"

namespace kw::audit {

// `polr-ns-<ns>` (ns_ref names the Namespace) or, with an empty ns_ref.name,
// `polr-clusterwide`; `skipped` non-auditable policies count into summary.skip. Results are
// sorted by (subject UID, policy) so two scans that found the same write the same report.
reports::PolicyReport scopeReport(const reports::ObjectRef& ns_ref,
                                  std::vector<reports::ReportResult> results, int64_t skipped,
                                  const std::string& run_uid);

// One report per subject, named by its UID and owned by it, in order of UID.
std::vector<reports::PolicyReport> resourceReports(std::vector<reports::ReportResult> results,
                                                   const std::string& run_uid);

}  // namespace kw::audit
