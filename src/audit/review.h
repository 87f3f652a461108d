// The AdmissionReview the scanner sends to `/audit/<policy>` for one existing object (spec §5.2)
// and the verdict read back from the policy-server's answer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "audit/policy.h"
#include "common/result.h"
#include "reports/policy_report.h"

namespace kw::audit {

// A CREATE request for `object` as if it were being created now: uid = the object's UID,
// kind/requestKind from its apiVersion and kind, resource = `gvr` (the plural from discovery;
// upstream 1.10 put the Kind there, which policies matching on request.resource would miss).
nlohmann::json buildReview(const nlohmann::json& object, const Gvr& gvr);

// The subject reference a result carries: apiVersion, kind, namespace, name, uid,
// resourceVersion of `object`.
reports::ObjectRef subjectOf(const nlohmann::json& object);

struct Verdict {
  reports::Outcome outcome = reports::Outcome::kError;
  std::string message;
};

// pass when response.allowed, fail with response.status.message when refused; an answer
// without a response object is an error naming what was wrong.
Verdict verdictOf(long http_status, std::string_view body);

}  // namespace kw::audit
