#include "controller/policy_status.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

#include "controller/names.h"
#include "controller/policies_config.h"

namespace kw::controller {

using json = nlohmann::json;

namespace {

std::string annotation(const json& object, std::string_view key) {
  const json* a = nullptr;
  if (auto m = object.find("metadata"); m != object.end() && m->is_object())
    if (auto it = m->find("annotations"); it != m->end() && it->is_object()) a = &*it;
  if (!a) return "";
  auto v = a->find(std::string(key));
  return v != a->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string label(const json& object, std::string_view key) {
  if (auto m = object.find("metadata"); m != object.end() && m->is_object())
    if (auto l = m->find("labels"); l != m->end() && l->is_object())
      if (auto v = l->find(std::string(key)); v != l->end() && v->is_string())
        return v->get<std::string>();
  return "";
}

std::string resourceVersion(const json& object) {
  if (auto m = object.find("metadata"); m != object.end() && m->is_object())
    return m->value("resourceVersion", "");
  return "";
}

bool podReady(const json& pod) {
  auto status = pod.find("status");
  if (status == pod.end() || !status->is_object()) return false;
  auto conditions = status->find("conditions");
  if (conditions == status->end() || !conditions->is_array()) return false;
  for (const json& c : *conditions)
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

}  // namespace

std::string rfc3339Now() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

void setCondition(json& conditions, std::string_view type, bool status, std::string_view reason,
                  std::string_view message, const std::string& now) {
  if (!conditions.is_array()) conditions = json::array();
  std::string status_text = status ? "True" : "False";
  for (json& c : conditions) {
    if (c.value("type", "") != type) continue;
    if (c.value("status", "") != status_text) {
      c["status"] = status_text;
      c["lastTransitionTime"] = now;
    }
    c["reason"] = reason;
    c["message"] = message;
    return;
  }
  conditions.push_back({{"type", type},
                        {"status", status_text},
                        {"lastTransitionTime", now},
                        {"reason", reason},
                        {"message", message}});
}

std::string conditionStatus(const json& status, std::string_view type) {
  auto conditions = status.find("conditions");
  if (conditions == status.end() || !conditions->is_array()) return "";
  for (const json& c : *conditions)
    if (c.value("type", "") == type) return c.value("status", "");
  return "";
}

void setConfigurationCondition(json& conditions, const json& deployment,
                               const std::optional<json>& config_map, const std::string& now) {
  std::string version = annotation(deployment, kConfigVersionAnnotation);
  if (version.empty()) {
    std::string name;
    if (auto m = deployment.find("metadata"); m != deployment.end()) name = m->value("name", "");
    setCondition(conditions, kConditionConfigUpToDate, false, "UnknownConfigurationVersion",
                 fmt::format("Configuration version annotation ({}) in deployment {} is missing",
                             kConfigVersionAnnotation, name),
                 now);
  } else if (config_map && version == resourceVersion(*config_map)) {
    setCondition(conditions, kConditionConfigUpToDate, true, "ConfigurationVersionMatch",
                 "Configuration for this policy is up to date", now);
  } else {
    setCondition(conditions, kConditionConfigUpToDate, false, "ConfigurationVersionMismatch",
                 "Configuration for this policy is not up to date", now);
  }
}

bool isPolicyUniquelyReachable(const json& deployment, const std::optional<json>& config_map,
                               const std::vector<json>& replica_sets,
                               const std::vector<json>& pods, std::string_view unique_name) {
  if (!config_map || !configEntryOf(*config_map, unique_name)) return false;
  std::string revision = annotation(deployment, kRevisionAnnotation);
  std::string config_version = resourceVersion(*config_map);
  std::string hash;
  for (const json& rs : replica_sets) {
    if (annotation(rs, kRevisionAnnotation) == revision &&
        annotation(rs, kConfigVersionAnnotation) == config_version) {
      hash = label(rs, kPodTemplateHashLabel);
      break;
    }
  }
  if (hash.empty() || pods.empty()) return false;
  for (const json& pod : pods)
    if (label(pod, kPodTemplateHashLabel) != hash || !podReady(pod)) return false;
  return true;
}

}  // namespace kw::controller
