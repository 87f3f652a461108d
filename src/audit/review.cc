#include "audit/review.h"

namespace kw::audit {
namespace {

using json = nlohmann::json;

std::string meta(const json& object, const char* key) {
  if (!object.contains("metadata") || !object["metadata"].is_object()) return "";
  return object["metadata"].value(key, "");
}

// apiVersion "apps/v1" -> {"apps", "v1"}; "v1" -> {"", "v1"}.
std::pair<std::string, std::string> splitApiVersion(const std::string& api_version) {
  auto slash = api_version.find('/');
  if (slash == std::string::npos) return {"", api_version};
  return {api_version.substr(0, slash), api_version.substr(slash + 1)};
}

}  // namespace

json buildReview(const json& object, const Gvr& gvr) {
  auto [group, version] = splitApiVersion(object.value("apiVersion", gvr.apiVersion()));
  json gvk = {{"group", group}, {"version", version}, {"kind", object.value("kind", "")}};
  json gvr_json = {{"group", gvr.group}, {"version", gvr.version}, {"resource", gvr.resource}};
  json request = {{"uid", meta(object, "uid")},
                  {"kind", gvk},
                  {"resource", gvr_json},
                  {"requestKind", gvk},
                  {"requestResource", gvr_json},
                  {"name", meta(object, "name")},
                  {"operation", "CREATE"},
                  {"userInfo", json::object()},
                  {"object", object},
                  {"dryRun", false}};
  if (std::string ns = meta(object, "namespace"); !ns.empty()) request["namespace"] = ns;
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request", std::move(request)}};
}

reports::ObjectRef subjectOf(const json& object) {
  return {
      object.value("apiVersion", ""), object.value("kind", ""), meta(object, "namespace"),
      meta(object, "name"),           meta(object, "uid"),      meta(object, "resourceVersion")};
}

Verdict verdictOf(long http_status, std::string_view body) {
  using reports::Outcome;
  json answer = json::parse(body, nullptr, false);
  if (http_status != 200) {
    std::string text(body.substr(0, 200));
    return {Outcome::kError, "policy-server answered HTTP " + std::to_string(http_status) +
                                 (text.empty() ? "" : ": " + text)};
  }
  if (answer.is_discarded() || !answer.is_object())
    return {Outcome::kError, "policy-server answer is not a JSON object"};
  auto response = answer.find("response");
  if (response == answer.end() || !response->is_object())
    return {Outcome::kError, "policy-server answer has no response object"};
  auto allowed = response->find("allowed");
  if (allowed == response->end() || !allowed->is_boolean())
    return {Outcome::kError, "policy-server answer has no boolean response.allowed"};
  if (allowed->get<bool>()) return {Outcome::kPass, ""};
  std::string message;
  if (auto status = response->find("status"); status != response->end() && status->is_object())
    message = status->value("message", "");
  return {Outcome::kFail, message};
}

}  // namespace kw::audit
