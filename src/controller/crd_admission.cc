#include "controller/crd_admission.h"

#include <cctype>

#include "common/base64.h"
#include "controller/crd_defaulting.h"
#include "controller/names.h"

namespace kw::controller {
namespace {

using nlohmann::json;

CrdWebhook makeWebhook(CrdKind kind, AdmissionAction action) {
  std::string lower;
  for (char c : kindName(kind)) lower += static_cast<char>(std::tolower(c));
  const bool mutate = action == AdmissionAction::kMutate;
  // policyserver -> policyservers, ...policy -> ...policies
  std::string resource =
      kind == CrdKind::kPolicyServer ? lower + "s" : lower.substr(0, lower.size() - 1) + "ies";
  return {kind, action,
          std::string(mutate ? "/mutate" : "/validate") + "-policies-kubewarden-io-v1-" + lower,
          std::string(mutate ? "m" : "v") + lower + ".kb.io", resource};
}

json allowed() {
  return {{"allowed", true}};
}

json denied(json status) {
  return {{"allowed", false}, {"status", std::move(status)}};
}

// Like controller-runtime's Errored(): the request itself could not be handled.
json errored(int code, const std::string& message) {
  return denied({{"metadata", json::object()}, {"code", code}, {"message", message}});
}

json patchResponse(const json& patch) {
  if (patch.empty()) return allowed();
  const std::string text = patch.dump();
  return {{"allowed", true}, {"patchType", "JSONPatch"}, {"patch", base64Encode(text)}};
}

std::string objectName(const json& request, const json& object) {
  if (object.contains("metadata") && object["metadata"].is_object())
    return object["metadata"].value("name", request.value("name", ""));
  return request.value("name", "");
}

json validate(const CrdWebhook& webhook, const json& request, const json& object,
              const CrdAdmissionContext& context) {
  const std::string operation = request.value("operation", "");
  FieldErrors errors;
  if (webhook.kind == CrdKind::kPolicyServer) {
    errors = validatePolicyServer(object, context.options, context.secret_type);
  } else if (operation == "UPDATE") {
    const json& old_object = request.contains("oldObject") ? request["oldObject"] : json();
    errors = validatePolicyUpdate(old_object, object);
  } else {
    errors = validatePolicyCreate(object);
  }
  if (errors.empty()) return allowed();
  return denied(invalidStatus(kGroup, kindName(webhook.kind), objectName(request, object), errors));
}

}  // namespace

std::string_view kindName(CrdKind kind) {
  switch (kind) {
    case CrdKind::kPolicyServer:
      return "PolicyServer";
    case CrdKind::kClusterAdmissionPolicy:
      return "ClusterAdmissionPolicy";
    case CrdKind::kAdmissionPolicy:
      return "AdmissionPolicy";
  }
  return "";
}

const std::vector<CrdWebhook>& crdWebhooks() {
  static const std::vector<CrdWebhook> webhooks = [] {
    std::vector<CrdWebhook> all;
    for (AdmissionAction action : {AdmissionAction::kMutate, AdmissionAction::kValidate})
      for (CrdKind kind :
           {CrdKind::kPolicyServer, CrdKind::kClusterAdmissionPolicy, CrdKind::kAdmissionPolicy})
        all.push_back(makeWebhook(kind, action));
    return all;
  }();
  return webhooks;
}

std::optional<CrdWebhook> crdWebhookForPath(std::string_view path) {
  for (const CrdWebhook& webhook : crdWebhooks())
    if (webhook.path == path) return webhook;
  return std::nullopt;
}

json admitRequest(const CrdWebhook& webhook, const json& request,
                  const CrdAdmissionContext& context) {
  const std::string operation = request.value("operation", "");
  // Upstream registers CREATE and UPDATE only; anything else passes untouched.
  if (operation != "CREATE" && operation != "UPDATE") return allowed();
  if (!request.contains("object") || !request["object"].is_object())
    return errored(400, "the admission request has no object");
  const json& object = request["object"];
  if (webhook.action == AdmissionAction::kValidate)
    return validate(webhook, request, object, context);
  if (webhook.kind == CrdKind::kPolicyServer)
    return patchResponse(policyServerDefaultingPatch(object));
  return patchResponse(policyDefaultingPatch(object, context.options));
}

json admitReview(const CrdWebhook& webhook, const json& review,
                 const CrdAdmissionContext& context) {
  const std::string api_version = review.is_object()
                                      ? review.value("apiVersion", "admission.k8s.io/v1")
                                      : "admission.k8s.io/v1";
  json response;
  std::string uid;
  if (!review.is_object() || !review.contains("request") || !review["request"].is_object()) {
    response = errored(400, "the AdmissionReview has no request");
  } else {
    const json& request = review["request"];
    uid = request.value("uid", "");
    try {
      response = admitRequest(webhook, request, context);
    } catch (const std::exception& e) {  // a field of an unexpected JSON type
      response = errored(400, std::string("malformed admission request: ") + e.what());
    }
  }
  response["uid"] = uid;
  return {{"apiVersion", api_version}, {"kind", "AdmissionReview"}, {"response", response}};
}

}  // namespace kw::controller
