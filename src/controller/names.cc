#include "controller/names.h"

#include <nlohmann/json.hpp>

namespace kw::controller {

std::string uniqueName(PolicyKind kind, std::string_view ns, std::string_view name) {
  if (kind == PolicyKind::kCluster) return "clusterwide-" + std::string(name);
  return "namespaced-" + std::string(ns) + "-" + std::string(name);
}

PolicyKind policyKind(const nlohmann::json& policy) {
  return policy.value("kind", "") == "AdmissionPolicy" ? PolicyKind::kNamespaced
                                                       : PolicyKind::kCluster;
}

std::string uniqueName(const nlohmann::json& policy) {
  const nlohmann::json& meta = policy.contains("metadata") ? policy["metadata"] : nlohmann::json();
  return uniqueName(policyKind(policy), meta.value("namespace", ""), meta.value("name", ""));
}

std::string policyServerObjectName(std::string_view policy_server) {
  return "policy-server-" + std::string(policy_server);
}

std::string policyServerAppLabel(std::string_view policy_server) {
  return "kubewarden-policy-server-" + std::string(policy_server);
}

}  // namespace kw::controller
