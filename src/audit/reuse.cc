#include "audit/reuse.h"

namespace kw::audit {

void ReuseIndex::add(const reports::PolicyReport& report) {
  for (const reports::ReportResult& r : report.results)
    if (!r.subjectUid().empty() && !r.policyUid().empty())
      results_[{r.subjectUid(), r.policyUid()}] = r;
}

const reports::ReportResult* ReuseIndex::find(const reports::PolicyInfo& policy,
                                              const reports::ObjectRef& subject) const {
  auto it = results_.find({subject.uid, policy.uid});
  if (it == results_.end()) return nullptr;
  const reports::ReportResult& r = it->second;
  auto rv = r.properties.find(reports::kPropPolicyResourceVersion);
  if (rv == r.properties.end() || rv->second != policy.resource_version) return nullptr;
  // An error is no verdict: evaluate again rather than carry the failure forward.
  if (r.result == reports::Outcome::kError) return nullptr;
  for (const reports::ObjectRef& s : r.resources)
    if (s.uid == subject.uid && s.resource_version == subject.resource_version) return &r;
  return nullptr;
}

}  // namespace kw::audit
