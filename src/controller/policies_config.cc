#include "controller/policies_config.h"

#include "controller/names.h"

namespace kw::controller {
namespace {

const nlohmann::json& field(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

}  // namespace

nlohmann::json policyConfigEntry(const nlohmann::json& policy) {
  const auto& meta = field(policy, "metadata");
  const auto& spec = field(policy, "spec");
  nlohmann::json entry = {
      // Go's types.NamespacedName has no JSON tags: its keys are capitalised.
      {"namespacedName",
       {{"Namespace", field(meta, "namespace").is_string() ? meta["namespace"] : ""},
        {"Name", field(meta, "name").is_string() ? meta["name"] : ""}}},
      {"url", field(spec, "module").is_string() ? spec["module"] : ""},
      // The CRD defaults mode to protect; an object built without the API server may lack it.
      {"policyMode", field(spec, "mode").is_string() ? spec["mode"] : "protect"},
      {"allowedToMutate", field(spec, "mutating").is_boolean() && spec["mutating"].get<bool>()},
      // RawExtension marshals an absent value as null (policy-server reads null as {}).
      {"settings", field(spec, "settings")},
  };
  const auto& resources = field(spec, "contextAwareResources");
  if (policyKind(policy) == PolicyKind::kCluster && resources.is_array() && !resources.empty())
    entry["contextAwareResources"] = resources;
  return entry;
}

nlohmann::json policiesYml(const std::vector<nlohmann::json>& policies) {
  nlohmann::json yml = nlohmann::json::object();
  for (const auto& policy : policies) yml[uniqueName(policy)] = policyConfigEntry(policy);
  return yml;
}

nlohmann::json sourcesYml(const nlohmann::json& policy_server) {
  const auto& spec = field(policy_server, "spec");
  nlohmann::json yml = nlohmann::json::object();
  const auto& insecure = field(spec, "insecureSources");
  if (insecure.is_array() && !insecure.empty()) yml["insecure_sources"] = insecure;
  const auto& authorities = field(spec, "sourceAuthorities");
  if (authorities.is_object() && !authorities.empty()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [uri, pems] : authorities.items()) {
      nlohmann::json list = nlohmann::json::array();
      if (pems.is_array())
        for (const auto& pem : pems) list.push_back({{"type", "Data"}, {"data", pem}});
      out[uri] = std::move(list);
    }
    yml["source_authorities"] = std::move(out);
  }
  return yml;
}

std::optional<nlohmann::json> configEntryOf(const nlohmann::json& config_map,
                                            std::string_view unique_name) {
  const auto& text = field(field(config_map, "data"), "policies.yml");
  if (!text.is_string()) return std::nullopt;
  auto yml = nlohmann::json::parse(text.get<std::string>(), nullptr, /*allow_exceptions=*/false);
  if (!yml.is_object()) return std::nullopt;
  auto it = yml.find(unique_name);
  if (it == yml.end()) return std::nullopt;
  return *it;
}

std::string observedPolicyMode(const nlohmann::json& config_map, std::string_view unique_name) {
  auto entry = configEntryOf(config_map, unique_name);
  if (!entry || !entry->contains("policyMode") || !(*entry)["policyMode"].is_string())
    return "unknown";
  return (*entry)["policyMode"].get<std::string>();
}

}  // namespace kw::controller
