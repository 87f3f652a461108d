#include "controller/policies_config.h"

#include <gtest/gtest.h>

namespace kw::controller {
namespace {

using nlohmann::json;

json clusterPolicy() {
  return json::parse(R"({
    "apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy",
    "metadata": {"name": "psp-capabilities"},
    "spec": {"policyServer": "default", "module": "registry://ghcr.io/kubewarden/policies/psp-capabilities:v0.1.7",
             "mode": "protect", "mutating": true,
             "settings": {"allowed_capabilities": ["*"]},
             "contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"}],
             "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["CREATE"]}]}
  })");
}

json namespacedPolicy() {
  return json::parse(R"({
    "apiVersion": "policies.kubewarden.io/v1", "kind": "AdmissionPolicy",
    "metadata": {"name": "safe-labels", "namespace": "team-a"},
    "spec": {"module": "file:///policies/safe-labels.wasm", "mode": "monitor", "mutating": false,
             "contextAwareResources": [{"apiVersion": "v1", "kind": "Secret"}]}
  })");
}

TEST(PoliciesYml, ClusterPolicyEntryHasEveryUpstreamField) {
  json yml = policiesYml({clusterPolicy()});
  EXPECT_EQ(yml, json::parse(R"({"clusterwide-psp-capabilities": {
    "namespacedName": {"Namespace": "", "Name": "psp-capabilities"},
    "url": "registry://ghcr.io/kubewarden/policies/psp-capabilities:v0.1.7",
    "policyMode": "protect", "allowedToMutate": true,
    "contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"}],
    "settings": {"allowed_capabilities": ["*"]}}})"));
}

TEST(PoliciesYml, NamespacedPolicyHasNoContextAwareResourcesAndNullSettings) {
  // AdmissionPolicy cannot be context aware (upstream returns an empty list, omitted), and a
  // policy without settings marshals them as null, as Go's RawExtension does.
  json yml = policiesYml({namespacedPolicy()});
  EXPECT_EQ(yml, json::parse(R"({"namespaced-team-a-safe-labels": {
    "namespacedName": {"Namespace": "team-a", "Name": "safe-labels"},
    "url": "file:///policies/safe-labels.wasm", "policyMode": "monitor",
    "allowedToMutate": false, "settings": null}})"));
}

TEST(PoliciesYml, KeyedByUniqueNameAndEmptyForNoPolicies) {
  json yml = policiesYml({clusterPolicy(), namespacedPolicy()});
  ASSERT_EQ(yml.size(), 2u);
  EXPECT_TRUE(yml.contains("clusterwide-psp-capabilities"));
  EXPECT_TRUE(yml.contains("namespaced-team-a-safe-labels"));
  EXPECT_EQ(policiesYml({}).dump(), "{}");
}

TEST(PoliciesYml, EmptyContextAwareListIsOmittedAndModeDefaultsToProtect) {
  json policy = clusterPolicy();
  policy["spec"]["contextAwareResources"] = json::array();
  policy["spec"].erase("mode");
  json entry = policyConfigEntry(policy);
  EXPECT_FALSE(entry.contains("contextAwareResources"));
  EXPECT_EQ(entry["policyMode"], "protect");
}

TEST(SourcesYml, InsecureSourcesAndAuthoritiesAsDataEntries) {
  json ps = json::parse(R"({"metadata": {"name": "default"}, "spec": {
    "insecureSources": ["registry.dev:5000"],
    "sourceAuthorities": {"registry.pre:5001": ["-----BEGIN CERTIFICATE-----\nA\n", "PEM2"]}}})");
  EXPECT_EQ(sourcesYml(ps), json::parse(R"({"insecure_sources": ["registry.dev:5000"],
    "source_authorities": {"registry.pre:5001": [
      {"type": "Data", "data": "-----BEGIN CERTIFICATE-----\nA\n"},
      {"type": "Data", "data": "PEM2"}]}})"));
}

TEST(SourcesYml, EmptyWhenNothingIsSet) {
  // Upstream marshals both with omitempty: an empty list and map disappear.
  EXPECT_EQ(sourcesYml(json::parse(R"({"metadata": {"name": "a"}, "spec": {}})")).dump(), "{}");
  json only_insecure =
      json::parse(R"({"spec": {"insecureSources": ["r:1"], "sourceAuthorities": {}}})");
  EXPECT_EQ(sourcesYml(only_insecure).dump(), R"({"insecure_sources":["r:1"]})");
}

}  // namespace
}  // namespace kw::controller

namespace kw::controller {
namespace {

TEST(ConfigEntryOf, FindsTheDeployedEntryAndItsMode) {
  json cm = {{"data",
              {{"policies.yml", policiesYml({clusterPolicy(), namespacedPolicy()}).dump()},
               {"sources.yml", "{}"}}}};
  auto entry = configEntryOf(cm, "namespaced-team-a-safe-labels");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ((*entry)["url"], "file:///policies/safe-labels.wasm");
  EXPECT_EQ(observedPolicyMode(cm, "namespaced-team-a-safe-labels"), "monitor");
  EXPECT_EQ(observedPolicyMode(cm, "clusterwide-psp-capabilities"), "protect");
  EXPECT_FALSE(configEntryOf(cm, "clusterwide-other").has_value());
  EXPECT_EQ(observedPolicyMode(cm, "clusterwide-other"), "unknown");
  // A ConfigMap without the file, or with a broken one, has no policies.
  EXPECT_EQ(observedPolicyMode(json::object(), "clusterwide-psp-capabilities"), "unknown");
  json broken = {{"data", {{"policies.yml", "{not json"}}}};
  EXPECT_FALSE(configEntryOf(broken, "clusterwide-psp-capabilities").has_value());
}

}  // namespace
}  // namespace kw::controller
