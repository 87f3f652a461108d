#include "audit/policy.h"

#include <algorithm>
#include <set>

#include "controller/names.h"

namespace kw::audit {
namespace {

using json = nlohmann::json;

bool holds(const json& list, const char* value) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(),
                     [&](const json& v) { return v.is_string() && v == value; });
}

std::vector<std::string> strings(const json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const json& v : list)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// A rule the scanner can audit: it covers CREATE and names its resources exactly.
bool auditableRule(const json& rule) {
  if (!rule.is_object()) return false;
  const json& ops = rule.contains("operations") ? rule["operations"] : json();
  if (!holds(ops, "CREATE") && !holds(ops, "*")) return false;
  for (const char* key : {"resources", "apiGroups", "apiVersions"})
    if (!rule.contains(key) || holds(rule[key], "*")) return false;
  return true;
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ",") + v;
  return out;
}

std::string annotation(const json& meta, const char* key) {
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) return "";
  return meta["annotations"].value(key, "");
}

}  // namespace

std::string Gvr::str() const {
  return apiVersion() + "/" + resource;
}

bool isAuditable(const json& object) {
  const json spec = object.value("spec", json::object());
  if (!spec.value("backgroundAudit", true)) return false;
  if (object.value("status", json::object()).value("policyStatus", "") != "active") return false;
  const json rules = spec.value("rules", json::array());
  if (!rules.is_array()) return false;
  return std::any_of(rules.begin(), rules.end(), auditableRule);
}

std::vector<Gvr> expandRules(const json& rules) {
  std::set<Gvr> out;
  if (!rules.is_array()) return {};
  for (const json& rule : rules) {
    if (!auditableRule(rule)) continue;
    for (const std::string& resource : strings(rule["resources"])) {
      if (resource.find('/') != std::string::npos) continue;  // a subresource
      for (const std::string& version : strings(rule["apiVersions"]))
        for (const std::string& group : strings(rule["apiGroups"]))
          out.insert({group, version, resource});
    }
  }
  return {out.begin(), out.end()};
}

Result<std::string> labelSelectorText(const json& selector) {
  if (selector.is_null()) return std::string();
  if (!selector.is_object()) return makeError("must be an object");
  std::vector<std::string> terms;
  if (auto labels = selector.find("matchLabels"); labels != selector.end() && !labels->is_null()) {
    if (!labels->is_object()) return makeError("matchLabels must be an object");
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string()) return makeError("matchLabels." + k + " must be a string");
      terms.push_back(k + "=" + v.get<std::string>());
    }
  }
  if (auto exprs = selector.find("matchExpressions");
      exprs != selector.end() && !exprs->is_null()) {
    if (!exprs->is_array()) return makeError("matchExpressions must be a list");
    for (const json& e : *exprs) {
      std::string key = e.value("key", ""), op = e.value("operator", "");
      std::vector<std::string> values = strings(e.value("values", json::array()));
      if (key.empty()) return makeError("matchExpressions[].key is required");
      if (op == "In" || op == "NotIn") {
        if (values.empty())
          return makeError("matchExpressions " + key + " " + op + " needs values");
        terms.push_back(key + (op == "In" ? " in (" : " notin (") + joined(values) + ")");
      } else if (op == "Exists") {
        terms.push_back(key);
      } else if (op == "DoesNotExist") {
        terms.push_back("!" + key);
      } else {
        return makeError("matchExpressions " + key + ": unknown operator \"" + op +
                         "\" (expected In, NotIn, Exists or DoesNotExist)");
      }
    }
  }
  return joined(terms);
}

Result<AuditPolicy> parsePolicy(const json& object) {
  if (!object.is_object() || !object.contains("metadata"))
    return makeError("a policy object without metadata");
  const json& meta = object["metadata"];
  AuditPolicy p;
  p.info.cluster_wide = controller::policyKind(object) == controller::PolicyKind::kCluster;
  p.info.name = meta.value("name", "");
  p.info.ns = p.info.cluster_wide ? "" : meta.value("namespace", "");
  p.info.uid = meta.value("uid", "");
  p.info.resource_version = meta.value("resourceVersion", "");
  p.unique_name = controller::uniqueName(object);
  const std::string what = (p.info.cluster_wide ? "ClusterAdmissionPolicy " : "AdmissionPolicy ") +
                           (p.info.ns.empty() ? "" : p.info.ns + "/") + p.info.name;
  const json spec = object.value("spec", json::object());
  if (!spec.is_object()) return makeError(what + ": spec must be an object");
  p.policy_server = spec.value("policyServer", "default");
  p.info.monitor = spec.value("mode", "protect") == "monitor";
  p.info.mutating = spec.value("mutating", false);
  p.info.context_aware = spec.contains("contextAwareResources") &&
                         spec["contextAwareResources"].is_array() &&
                         !spec["contextAwareResources"].empty();
  p.info.severity = annotation(meta, "io.kubewarden.policy.severity");
  p.info.category = annotation(meta, "io.kubewarden.policy.category");
  p.auditable = isAuditable(object);
  if (p.auditable) p.gvrs = expandRules(spec.value("rules", json::array()));
  for (auto [key, out] : {std::pair{"namespaceSelector", &p.namespace_selector},
                          std::pair{"objectSelector", &p.object_selector}}) {
    if (!spec.contains(key)) continue;
    auto text = labelSelectorText(spec[key]);
    if (!text) return makeError(what + ": spec." + key + " " + text.error().message);
    *out = *text;
  }
  return p;
}

std::map<Gvr, std::vector<size_t>> policiesByGvr(const std::vector<AuditPolicy>& policies) {
  std::map<Gvr, std::vector<size_t>> out;
  for (size_t i = 0; i < policies.size(); ++i)
    for (const Gvr& gvr : policies[i].gvrs) out[gvr].push_back(i);
  return out;
}

}  // namespace kw::audit
