// Result reuse (spec §5.2): a stored result still holds when neither the resource nor the
// policy changed since it was produced, i.e. the same subject UID and resourceVersion and the
// same policy UID and resourceVersion. Indexed so a scan looks each pair up in O(log n)
// instead of walking the previous report per evaluation.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "reports/policy_report.h"

namespace kw::audit {

class ReuseIndex {
 public:
  ReuseIndex() = default;
  // Takes the results of previous reports (copied: the index outlives them).
  void add(const reports::PolicyReport& report);
  // The previous result for (`subject`, `policy`) when both resourceVersions still match.
  const reports::ReportResult* find(const reports::PolicyInfo& policy,
                                    const reports::ObjectRef& subject) const;
  size_t size() const { return results_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, reports::ReportResult> results_;
};

}  // namespace kw::audit
