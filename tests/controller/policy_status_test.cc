#include "controller/policy_status.h"

#include <gtest/gtest.h>

namespace kw::controller {
namespace {

using json = nlohmann::json;

json configMap(const std::string& rv, const json& policies) {
  return {{"metadata", {{"name", "policy-server-default"}, {"resourceVersion", rv}}},
          {"data", {{"policies.yml", policies.dump()}}}};
}

json deployment(const std::string& revision, const std::string& config_version) {
  json annotations = {{"kubewarden/config-version", config_version}};
  if (!revision.empty()) annotations["deployment.kubernetes.io/revision"] = revision;
  return {{"metadata", {{"name", "policy-server-default"}, {"annotations", annotations}}}};
}

json replicaSet(const std::string& revision, const std::string& config_version,
                const std::string& hash) {
  return {{"metadata",
           {{"labels", {{"kubewarden/policy-server", "default"}, {"pod-template-hash", hash}}},
            {"annotations",
             {{"deployment.kubernetes.io/revision", revision},
              {"kubewarden/config-version", config_version}}}}}};
}

json pod(const std::string& hash, bool ready) {
  return {{"metadata", {{"labels", {{"pod-template-hash", hash}}}}},
          {"status",
           {{"conditions", json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
}

const json kPolicies = {{"clusterwide-p", {{"policyMode", "monitor"}}}};

TEST(PolicyStatus, UniquelyReachableNeedsTheNewestReplicaSetAndAllPodsReady) {
  auto cm = configMap("42", kPolicies);
  auto dep = deployment("3", "42");
  std::vector<json> rs = {replicaSet("2", "41", "old"), replicaSet("3", "42", "new")};
  EXPECT_TRUE(isPolicyUniquelyReachable(dep, cm, rs, {pod("new", true), pod("new", true)},
                                        "clusterwide-p"));
  // A pod of the previous ReplicaSet still runs: the old config may answer.
  EXPECT_FALSE(isPolicyUniquelyReachable(dep, cm, rs, {pod("new", true), pod("old", true)},
                                         "clusterwide-p"));
  EXPECT_FALSE(isPolicyUniquelyReachable(dep, cm, rs, {pod("new", false)}, "clusterwide-p"));
  EXPECT_FALSE(isPolicyUniquelyReachable(dep, cm, rs, {}, "clusterwide-p"));
  // Not in the ConfigMap, or no ReplicaSet for this config version yet.
  EXPECT_FALSE(isPolicyUniquelyReachable(dep, cm, rs, {pod("new", true)}, "clusterwide-q"));
  EXPECT_FALSE(isPolicyUniquelyReachable(dep, configMap("43", kPolicies), rs, {pod("new", true)},
                                         "clusterwide-p"));
  EXPECT_FALSE(isPolicyUniquelyReachable(dep, std::nullopt, rs, {pod("new", true)},
                                         "clusterwide-p"));
}

TEST(PolicyStatus, SetConditionChangesTransitionTimeOnlyWhenStatusFlips) {
  json conditions;
  setCondition(conditions, "PolicyActive", false, "PolicyActive", "not yet", "T1");
  ASSERT_EQ(conditions.size(), 1u);
  setCondition(conditions, "PolicyActive", false, "PolicyActive", "still not", "T2");
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "T1");
  EXPECT_EQ(conditions[0]["message"], "still not");
  setCondition(conditions, "PolicyActive", true, "PolicyActive", "done", "T3");
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "T3");
  EXPECT_EQ(conditions[0]["status"], "True");
  setCondition(conditions, "Other", true, "R", "m", "T4");
  EXPECT_EQ(conditions.size(), 2u);
  EXPECT_EQ(conditionStatus(json{{"conditions", conditions}}, "PolicyActive"), "True");
  EXPECT_EQ(conditionStatus(json{{"conditions", conditions}}, "Missing"), "");
}

TEST(PolicyStatus, ConfigurationConditionComparesTheDeploymentAnnotation) {
  json conditions;
  setConfigurationCondition(conditions, deployment("1", "7"), configMap("7", kPolicies), "T");
  EXPECT_EQ(conditions[0]["reason"], "ConfigurationVersionMatch");
  setConfigurationCondition(conditions, deployment("1", "6"), configMap("7", kPolicies), "T");
  EXPECT_EQ(conditions[0]["reason"], "ConfigurationVersionMismatch");
  EXPECT_EQ(conditions[0]["status"], "False");
  json bare = {{"metadata", {{"name", "policy-server-x"}}}};
  setConfigurationCondition(conditions, bare, configMap("7", kPolicies), "T");
  EXPECT_EQ(conditions[0]["reason"], "UnknownConfigurationVersion");
  EXPECT_EQ(conditions[0]["message"],
            "Configuration version annotation (kubewarden/config-version) in deployment "
            "policy-server-x is missing");
}

}  // namespace
}  // namespace kw::controller
