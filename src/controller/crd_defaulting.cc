#include "controller/crd_defaulting.h"

#include <algorithm>

#include "controller/names.h"

namespace kw::controller {
namespace {

using nlohmann::json;

json addOp(const std::string& path, json value) {
  return {{"op", "add"}, {"path", path}, {"value", std::move(value)}};
}

bool present(const json& object, const char* key) {
  return object.is_object() && object.contains(key) && !object[key].is_null();
}

// The finalizer keeps the object until the controller has removed what it made for it; objects
// already being deleted must not get it back.
void addFinalizer(const json& object, json& patch) {
  const json& meta = present(object, "metadata") ? object["metadata"] : json();
  if (present(meta, "deletionTimestamp")) return;
  const std::string finalizer(kFinalizer);
  if (!present(meta, "finalizers") || !meta["finalizers"].is_array()) {
    patch.push_back(addOp(present(object, "metadata") ? "/metadata/finalizers" : "/metadata",
                          present(object, "metadata") ? json::array({finalizer})
                                                      : json{{"finalizers", {finalizer}}}));
    return;
  }
  const json& finalizers = meta["finalizers"];
  if (std::find(finalizers.begin(), finalizers.end(), finalizer) == finalizers.end())
    patch.push_back(addOp("/metadata/finalizers/-", finalizer));
}

}  // namespace

std::string defaultPolicyServer(const ControllerOptions& options) {
  return options.default_policy_server.empty() ? "default" : options.default_policy_server;
}

json policyDefaultingPatch(const json& policy, const ControllerOptions& options) {
  json patch = json::array();
  addFinalizer(policy, patch);
  // The API server applies the schema's defaults before calling us; these cover a spec that
  // arrives without them (an explicit "" policyServer, or a caller outside the API server).
  json defaults = {{"policyServer", defaultPolicyServer(options)},
                   {"mode", "protect"},
                   {"timeoutSeconds", 10},
                   {"backgroundAudit", true}};
  if (!present(policy, "spec") || !policy["spec"].is_object()) {
    patch.push_back(addOp("/spec", defaults));
    return patch;
  }
  const json& spec = policy["spec"];
  for (const auto& [key, value] : defaults.items()) {
    const bool empty_server = key == "policyServer" && spec.contains(key) && spec[key] == json("");
    if (!present(spec, key.c_str()) || empty_server) patch.push_back(addOp("/spec/" + key, value));
  }
  return patch;
}

json policyServerDefaultingPatch(const json& policy_server) {
  json patch = json::array();
  addFinalizer(policy_server, patch);
  return patch;
}

json applyDefaultingPatch(json object, const json& patch) {
  return object.patch(patch);
}

}  // namespace kw::controller
