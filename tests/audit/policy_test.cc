#include "audit/policy.h"

#include <gtest/gtest.h>

namespace kw::audit {
namespace {

using json = nlohmann::json;

json rule(json ops, json groups, json versions, json resources) {
  return {{"operations", ops},
          {"apiGroups", groups},
          {"apiVersions", versions},
          {"resources", resources}};
}

json policy(json rules, bool background = true, std::string status = "active") {
  return {
      {"apiVersion", "policies.kubewarden.io/v1"},
      {"kind", "ClusterAdmissionPolicy"},
      {"metadata",
       {{"name", "no-privileged"},
        {"uid", "p-uid"},
        {"resourceVersion", "42"},
        {"annotations",
         {{"io.kubewarden.policy.severity", "high"}, {"io.kubewarden.policy.category", "PSP"}}}}},
      {"spec",
       {{"policyServer", "reserved"},
        {"backgroundAudit", background},
        {"rules", rules},
        {"module", "file:///x.wasm"}}},
      {"status", {{"policyStatus", status}}}};
}

TEST(AuditPolicy, AuditableNeedsBackgroundAuditActiveAndAListableCreateRule) {
  json pods = json::array({rule({"CREATE"}, {""}, {"v1"}, {"pods"})});
  EXPECT_TRUE(isAuditable(policy(pods)));
  EXPECT_FALSE(isAuditable(policy(pods, false)));
  EXPECT_FALSE(isAuditable(policy(pods, true, "pending")));
  EXPECT_FALSE(isAuditable(policy(json::array({rule({"UPDATE"}, {""}, {"v1"}, {"pods"})}))));
  EXPECT_TRUE(isAuditable(policy(json::array({rule({"*"}, {""}, {"v1"}, {"pods"})}))));
  for (const json& wild :
       {rule({"CREATE"}, {"*"}, {"v1"}, {"pods"}), rule({"CREATE"}, {""}, {"*"}, {"pods"}),
        rule({"CREATE"}, {""}, {"v1"}, {"*"})})
    EXPECT_FALSE(isAuditable(policy(json::array({wild})))) << wild.dump();
  // One listable CREATE rule is enough, beside a wildcard one.
  EXPECT_TRUE(
      isAuditable(policy(json::array({rule({"CREATE"}, {"*"}, {"*"}, {"*"}),
                                      rule({"CREATE"}, {"apps"}, {"v1"}, {"deployments"})}))));
}

TEST(AuditPolicy, RulesExpandToEveryGroupVersionResourceWithoutSubresources) {
  json rules = json::array({rule({"CREATE", "UPDATE"}, {"", "apps"}, {"v1", "v1beta1"},
                                 {"pods", "pods/exec", "deployments"}),
                            rule({"DELETE"}, {"batch"}, {"v1"}, {"jobs"}),
                            rule({"CREATE"}, {"*"}, {"v1"}, {"secrets"}),
                            rule({"CREATE"}, {""}, {"v1"}, {"pods"})});
  std::vector<Gvr> got = expandRules(rules);
  std::vector<Gvr> want = {{"", "v1", "deployments"},          {"", "v1", "pods"},
                           {"", "v1beta1", "deployments"},     {"", "v1beta1", "pods"},
                           {"apps", "v1", "deployments"},      {"apps", "v1", "pods"},
                           {"apps", "v1beta1", "deployments"}, {"apps", "v1beta1", "pods"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(Gvr({"apps", "v1", "deployments"}).str(), "apps/v1/deployments");
  EXPECT_EQ(Gvr({"", "v1", "pods"}).str(), "v1/pods");
}

TEST(AuditPolicy, ParsedPolicyCarriesWhatReportsAndRequestsNeed) {
  json p = policy(json::array({rule({"CREATE"}, {""}, {"v1"}, {"pods"})}));
  p["spec"]["mode"] = "monitor";
  p["spec"]["mutating"] = true;
  p["spec"]["namespaceSelector"] = {
      {"matchLabels", {{"team", "a"}}},
      {"matchExpressions",
       json::array({{{"key", "env"}, {"operator", "In"}, {"values", {"dev", "prod"}}},
                    {{"key", "skip"}, {"operator", "DoesNotExist"}}})}};
  auto parsed = parsePolicy(p);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->unique_name, "clusterwide-no-privileged");
  EXPECT_EQ(parsed->policy_server, "reserved");
  EXPECT_TRUE(parsed->auditable);
  EXPECT_EQ(parsed->gvrs, (std::vector<Gvr>{{"", "v1", "pods"}}));
  EXPECT_EQ(parsed->namespace_selector, "team=a,env in (dev,prod),!skip");
  EXPECT_TRUE(parsed->info.cluster_wide);
  EXPECT_TRUE(parsed->info.monitor);
  EXPECT_TRUE(parsed->info.mutating);
  EXPECT_EQ(parsed->info.uid, "p-uid");
  EXPECT_EQ(parsed->info.resource_version, "42");
  EXPECT_EQ(parsed->info.severity, "high");
  EXPECT_EQ(parsed->info.category, "PSP");

  p["kind"] = "AdmissionPolicy";
  p["metadata"]["namespace"] = "team-a";
  p["spec"].erase("namespaceSelector");
  parsed = parsePolicy(p);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->unique_name, "namespaced-team-a-no-privileged");
  EXPECT_FALSE(parsed->info.cluster_wide);
  EXPECT_EQ(parsed->info.ns, "team-a");
}

TEST(AuditPolicy, BadSelectorIsNamed) {
  json p = policy(json::array({rule({"CREATE"}, {""}, {"v1"}, {"pods"})}));
  p["spec"]["objectSelector"] = {
      {"matchExpressions", json::array({{{"key", "a"}, {"operator", "Near"}}})}};
  auto parsed = parsePolicy(p);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message,
            "ClusterAdmissionPolicy no-privileged: spec.objectSelector matchExpressions a: "
            "unknown operator \"Near\" (expected In, NotIn, Exists or DoesNotExist)");
}

TEST(AuditPolicy, PoliciesAreGroupedByGvr) {
  std::vector<AuditPolicy> ps(3);
  ps[0].gvrs = {{"", "v1", "pods"}};
  ps[1].gvrs = {{"", "v1", "pods"}, {"apps", "v1", "deployments"}};
  auto grouped = policiesByGvr(ps);
  EXPECT_EQ(grouped.size(), 2u);
  EXPECT_EQ(grouped[(Gvr{"", "v1", "pods"})], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(grouped[(Gvr{"apps", "v1", "deployments"})], (std::vector<size_t>{1}));
}

}  // namespace
}  // namespace kw::audit
