#include "controller/object_diff.h"

#include <array>
#include <string>
#include <string_view>

#include "controller/policy_server_objects.h"

namespace kw::controller {
namespace {

using nlohmann::json;

// Maps we own whole: a key only `live` has there is a difference (array indices are "*").
constexpr std::array<std::string_view, 7> kExactPaths = {
    "/spec/template/metadata/annotations",
    "/spec/template/metadata/labels",
    "/spec/template/spec/securityContext",
    "/spec/template/spec/containers/*/securityContext",
    "/spec/selector",
    "/webhooks/*/namespaceSelector",
    "/webhooks/*/objectSelector",
};
constexpr std::string_view kTemplateAnnotations = "/spec/template/metadata/annotations";
constexpr std::string_view kOwnerReferences = "/metadata/ownerReferences";

bool isExactPath(std::string_view path) {
  for (auto exact : kExactPaths)
    if (path == exact) return true;
  return false;
}

// Go's omitempty drops these, so a key missing from `live` may mean any of them.
bool isZero(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return true;
    case json::value_t::string:
      return v.get_ref<const std::string&>().empty();
    case json::value_t::boolean:
      return !v.get<bool>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return v == 0;
    case json::value_t::object:
    case json::value_t::array:
      return v.empty();
    default:
      return false;
  }
}

bool ignoredKey(std::string_view path, const std::string& key) {
  return path == kTemplateAnnotations && key == kRestartedAtAnnotation;
}

bool covers(const json& desired, const json& live, const std::string& path, bool exact);

// Every owner we name must be among live's (others may own the object too).
bool coversOwners(const json& desired, const json& live) {
  if (!live.is_array()) return desired.empty();
  for (const auto& ref : desired) {
    bool found = false;
    for (const auto& other : live) found = found || covers(ref, other, "", false);
    if (!found) return false;
  }
  return true;
}

bool coversObject(const json& desired, const json& live, const std::string& path, bool exact) {
  if (!live.is_object()) return live.is_null() && isZero(desired);
  exact = exact || isExactPath(path);
  for (const auto& [key, value] : desired.items()) {
    auto it = live.find(key);
    if (ignoredKey(path, key)) continue;
    if (it == live.end()) {
      if (!isZero(value)) return false;
    } else if (!covers(value, *it, path + "/" + key, exact)) {
      return false;
    }
  }
  if (!exact) return true;
  // Here a stored false or 0 was set on purpose (Go drops it only when it is no pointer), so
  // only null and empty maps or lists count as absent.
  for (const auto& [key, value] : live.items())
    if (!desired.contains(key) && !(value.is_null() || (value.is_structured() && value.empty())) &&
        !ignoredKey(path, key))
      return false;
  return true;
}

// True when `live` holds everything `desired` says (see needsUpdate for the rules).
bool covers(const json& desired, const json& live, const std::string& path, bool exact) {
  if (path == kOwnerReferences) return coversOwners(desired, live);
  if (desired.is_object()) return coversObject(desired, live, path, exact);
  if (desired.is_array()) {
    if (!live.is_array()) return live.is_null() && desired.empty();
    if (desired.size() != live.size()) return false;
    for (size_t i = 0; i < desired.size(); ++i)
      if (!covers(desired[i], live[i], path + "/*", exact)) return false;
    return true;
  }
  if (exact && live.is_object()) return false;
  return desired == live;
}

// Copies live[path] into result when desired does not set it.
void carryOver(const json& live, json& result, const json::json_pointer& ptr) {
  if (live.contains(ptr) && !result.contains(ptr)) result[ptr] = live[ptr];
}

}  // namespace

bool needsUpdate(const json& desired, const json& live) {
  return !covers(desired, live, "", false);
}

json mergedForUpdate(const json& desired, const json& live) {
  json result = live;
  json& meta = result["metadata"];
  const json& ours = desired.contains("metadata") ? desired["metadata"] : json::object();
  for (const char* map : {"labels", "annotations"})
    if (ours.contains(map))
      for (const auto& [key, value] : ours[map].items()) meta[map][key] = value;
  if (ours.contains("ownerReferences")) {
    json& owners = meta["ownerReferences"];
    if (!owners.is_array()) owners = json::array();
    for (const auto& ref : ours["ownerReferences"]) {
      bool replaced = false;
      for (auto& other : owners)
        if (other.value("uid", "") == ref.value("uid", "")) {
          other = ref;
          replaced = true;
        }
      if (!replaced) owners.push_back(ref);
    }
  }
  for (const auto& [key, value] : desired.items())
    if (key != "metadata" && key != "status") result[key] = value;

  // Allocated by the API server (a Service's addresses) or set by `kubectl rollout restart`.
  for (const char* path :
       {"/spec/clusterIP", "/spec/clusterIPs", "/spec/ipFamilies", "/spec/ipFamilyPolicy"})
    carryOver(live, result, json::json_pointer(path));
  carryOver(live, result,
            json::json_pointer(std::string(kTemplateAnnotations) + "/" +
                               "kubectl.kubernetes.io~1restartedAt"));
  return result;
}

}  // namespace kw::controller
