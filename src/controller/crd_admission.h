// Admission of our own CRDs (spec §4.1): AdmissionReview v1 in, AdmissionReview v1 out, for
// the six webhook paths kubewarden-controller serves. Defaulting answers with a JSONPatch;
// validation with the 422 Status upstream's webhooks return ("<Kind>.policies.kubewarden.io
// \"<name>\" is invalid: spec.mode: Forbidden: ..."), which the API server prefixes with
// `admission webhook "<name>" denied the request: `.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/crd_validation.h"
#include "controller/options.h"

namespace kw::controller {

enum class CrdKind { kPolicyServer, kClusterAdmissionPolicy, kAdmissionPolicy };
enum class AdmissionAction { kMutate, kValidate };

struct CrdWebhook {
  CrdKind kind;
  AdmissionAction action;
  std::string path;      // "/mutate-policies-kubewarden-io-v1-policyserver", ...
  std::string name;      // upstream's webhook name: "mpolicyserver.kb.io", ...
  std::string resource;  // "policyservers", ...
};

// The six webhooks, mutating ones first.
const std::vector<CrdWebhook>& crdWebhooks();
// The webhook served at `path`, if any.
std::optional<CrdWebhook> crdWebhookForPath(std::string_view path);
std::string_view kindName(CrdKind kind);

// Everything admission needs besides the request.
struct CrdAdmissionContext {
  ControllerOptions options;
  SecretTypeLookup secret_type;  // for PolicyServer imagePullSecret
};

// Answers one AdmissionReview (v1; v1beta1 is answered in kind). A review without a request
// gets an Error back; admitReview never throws.
nlohmann::json admitReview(const CrdWebhook& webhook, const nlohmann::json& review,
                           const CrdAdmissionContext& context);

// The AdmissionResponse (without uid) for one request: exposed for tests.
nlohmann::json admitRequest(const CrdWebhook& webhook, const nlohmann::json& request,
                            const CrdAdmissionContext& context);

}  // namespace kw::controller
