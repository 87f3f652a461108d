// The PolicyReport model (src/reports/policy_report.*): names, labels, the JSON keys of §5.3,
// the severity/scored rules, summaries, result replacement, stale results and reuse.
#include "reports/policy_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kw::reports {
namespace {

using json = nlohmann::json;

PolicyInfo clusterPolicy(const std::string& name = "no-privileged-pod") {
  PolicyInfo p;
  p.cluster_wide = true;
  p.name = name;
  p.uid = "uid-" + name;
  p.resource_version = "100";
  return p;
}

ObjectRef pod(const std::string& name, const std::string& rv = "7") {
  return {"v1", "Pod", "team-a", name, "uid-" + name, rv};
}

TEST(PolicyReportModel, NamespaceReportHasThe110NameLabelAndScope) {
  PolicyReport r = namespaceReport({"", "", "", "team-a", "ns-uid", "42"});
  json j = toJson(r);
  EXPECT_EQ(j["apiVersion"], "wgpolicyk8s.io/v1alpha2");
  EXPECT_EQ(j["kind"], "PolicyReport");
  EXPECT_EQ(j["metadata"]["name"], "polr-ns-team-a");
  EXPECT_EQ(j["metadata"]["namespace"], "team-a");
  EXPECT_EQ(j["metadata"]["labels"], json({{"app.kubernetes.io/managed-by", "kubewarden"}}));
  EXPECT_EQ(j["scope"], json({{"apiVersion", "v1"},
                              {"kind", "Namespace"},
                              {"name", "team-a"},
                              {"uid", "ns-uid"},
                              {"resourceVersion", "42"}}));
  // Every summary counter is written, zero or not.
  EXPECT_EQ(j["summary"], json({{"pass", 0}, {"fail", 0}, {"warn", 0}, {"error", 0}, {"skip", 0}}));
  EXPECT_EQ(j["results"], json::array());
  EXPECT_EQ(r.granularity(), Granularity::kNamespace);
}

TEST(PolicyReportModel, ClusterReportIsPolrClusterwideWithoutNamespace) {
  json j = toJson(clusterReport("run-1"));
  EXPECT_EQ(j["kind"], "ClusterPolicyReport");
  EXPECT_EQ(j["metadata"]["name"], "polr-clusterwide");
  EXPECT_FALSE(j["metadata"].contains("namespace"));
  EXPECT_EQ(j["metadata"]["labels"]["kubewarden.io/audit-scanner-run-uid"], "run-1");
  EXPECT_FALSE(j.contains("scope"));
}

TEST(PolicyReportModel, ResourceReportIsNamedByUidAndOwnedByTheResource) {
  PolicyReport r = resourceReport(pod("web"), "run-9");
  json j = toJson(r);
  EXPECT_EQ(j["kind"], "PolicyReport");
  EXPECT_EQ(j["metadata"]["name"], "uid-web");
  EXPECT_EQ(j["metadata"]["namespace"], "team-a");
  EXPECT_EQ(j["metadata"]["labels"], json({{"app.kubernetes.io/managed-by", "kubewarden"},
                                           {"kubewarden.io/policyreport-version", "v2"},
                                           {"kubewarden.io/audit-scanner-run-uid", "run-9"}}));
  EXPECT_EQ(
      j["metadata"]["ownerReferences"],
      json::array({{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "web"}, {"uid", "uid-web"}}}));
  EXPECT_EQ(j["scope"]["resourceVersion"], "7");
  EXPECT_EQ(r.granularity(), Granularity::kResource);

  ObjectRef node{"v1", "Node", "", "n1", "uid-n1", "3"};
  PolicyReport c = resourceReport(node, "run-9");
  EXPECT_EQ(c.kind, ReportKind::kClusterPolicyReport);
  EXPECT_FALSE(toJson(c)["metadata"].contains("namespace"));
}

TEST(PolicyReportModel, FailingResultHasThe110Keys) {
  PolicyInfo p = clusterPolicy();
  p.severity = "high";
  p.category = "PSP";
  p.context_aware = true;
  ReportResult r = makeResult(p, pod("web"), Outcome::kFail, "Privileged container is not allowed",
                              {1700000000, 123});
  json j = toJson(r);
  EXPECT_EQ(j, json::parse(R"({
    "source": "kubewarden", "policy": "cap-no-privileged-pod", "rule": "no-privileged-pod",
    "category": "PSP", "severity": "high", "scored": true, "result": "fail",
    "timestamp": {"seconds": 1700000000, "nanos": 123},
    "resources": [{"apiVersion": "v1", "kind": "Pod", "namespace": "team-a", "name": "web",
                   "uid": "uid-web", "resourceVersion": "7"}],
    "resourceSelector": {},
    "message": "Privileged container is not allowed",
    "properties": {"validating": "true", "context-aware": "true",
                   "policy-resource-version": "100", "policy-uid": "uid-no-privileged-pod"}
  })"));
}

TEST(PolicyReportModel, PassingResultOmitsMessageScoredAndEmptyFields) {
  PolicyInfo p = clusterPolicy();
  p.cluster_wide = false;
  p.ns = "team-a";
  p.mutating = true;
  json j = toJson(makeResult(p, pod("web"), Outcome::kPass, "ignored"));
  EXPECT_EQ(j["policy"], "ap-no-privileged-pod");
  EXPECT_EQ(j["result"], "pass");
  EXPECT_EQ(j["source"], "kubewarden");
  for (const char* absent : {"message", "scored", "severity", "category"})
    EXPECT_FALSE(j.contains(absent)) << absent;
  EXPECT_EQ(j["properties"]["mutating"], "true");
  EXPECT_FALSE(j["properties"].contains("validating"));
}

TEST(PolicyReportModel, SeverityRules) {
  PolicyInfo p = clusterPolicy();
  p.monitor = true;
  p.severity = "critical";
  ReportResult monitor = makeResult(p, pod("a"), Outcome::kFail, "m");
  EXPECT_EQ(monitor.severity, "info");  // monitor mode wins over the annotation
  EXPECT_TRUE(monitor.scored);

  p.monitor = false;
  for (const char* s : {"critical", "high", "medium", "low", "info"}) {
    p.severity = s;
    ReportResult r = makeResult(p, pod("a"), Outcome::kFail, "m");
    EXPECT_EQ(r.severity, s);
    EXPECT_TRUE(r.scored);
  }
  p.severity = "catastrophic";  // not a value the CRD allows: left out, and not scored
  ReportResult bad = makeResult(p, pod("a"), Outcome::kFail, "m");
  EXPECT_EQ(bad.severity, "");
  EXPECT_FALSE(bad.scored);
}

TEST(PolicyReportModel, UpsertReplacesTheResultOfTheSameResourceAndPolicy) {
  PolicyReport r = namespaceReport({"", "", "", "team-a", "ns-uid", "1"});
  PolicyInfo a = clusterPolicy("a"), b = clusterPolicy("b");
  upsertResult(r, makeResult(a, pod("web"), Outcome::kFail, "no"));
  upsertResult(r, makeResult(b, pod("web"), Outcome::kPass, ""));
  upsertResult(r, makeResult(a, pod("db"), Outcome::kError, "down"));
  EXPECT_EQ(r.summary, (Summary{1, 1, 0, 1, 0}));
  upsertResult(r, makeResult(a, pod("web", "8"), Outcome::kPass, ""));  // same pod, new verdict
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.summary, (Summary{2, 0, 0, 1, 0}));
  EXPECT_EQ(r.results[0].resources[0].resource_version, "8");
}

TEST(PolicyReportModel, SkippedPoliciesCountInSkipAndSurviveJson) {
  PolicyReport r = clusterReport();
  r.skipped_policies = 2;
  upsertResult(r, makeResult(clusterPolicy("a"), pod("web"), Outcome::kSkip, ""));
  EXPECT_EQ(r.summary.skip, 3);
  auto back = reportFromJson(toJson(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->skipped_policies, 2);
  recomputeSummary(*back);
  EXPECT_EQ(back->summary.skip, 3);
}

TEST(PolicyReportModel, DropStaleRemovesDeletedResourcesAndPolicies) {
  PolicyReport r = namespaceReport({"", "", "", "team-a", "ns-uid", "1"});
  PolicyInfo a = clusterPolicy("a"), b = clusterPolicy("b");
  for (const char* name : {"web", "db"})
    for (const PolicyInfo* p : {&a, &b})
      upsertResult(r, makeResult(*p, pod(name), Outcome::kFail, "x"));
  EXPECT_EQ(r.summary.fail, 4);
  // db was deleted, policy b too.
  size_t removed = dropStale(r, {"uid-web"}, {"uid-a"});
  EXPECT_EQ(removed, 3u);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].rule, "a");
  EXPECT_EQ(r.results[0].subjectUid(), "uid-web");
  EXPECT_EQ(r.summary, (Summary{0, 1, 0, 0, 0}));
}

TEST(PolicyReportModel, ReusableOnlyWhenNeitherPolicyNorResourceChanged) {
  PolicyReport r = namespaceReport({"", "", "", "team-a", "ns-uid", "1"});
  PolicyInfo p = clusterPolicy("a");
  upsertResult(r, makeResult(p, pod("web", "7"), Outcome::kFail, "no"));
  const ReportResult* same = findReusable(r, p, pod("web", "7"));
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->message, "no");
  EXPECT_EQ(findReusable(r, p, pod("web", "8")), nullptr);  // the pod changed
  PolicyInfo edited = p;
  edited.resource_version = "101";
  EXPECT_EQ(findReusable(r, edited, pod("web", "7")), nullptr);  // the policy changed
  PolicyInfo recreated = p;
  recreated.uid = "uid-other";
  EXPECT_EQ(findReusable(r, recreated, pod("web", "7")), nullptr);  // same name, new policy
  EXPECT_EQ(findReusable(r, p, pod("api", "7")), nullptr);          // never scanned
}

TEST(PolicyReportModel, JsonRoundTrip) {
  PolicyReport r = resourceReport(pod("web"), "run-1");
  r.resource_version = "555";
  PolicyInfo p = clusterPolicy("a");
  p.severity = "low";
  upsertResult(r, makeResult(p, pod("web"), Outcome::kFail, "no", {5, 6}));
  upsertResult(r, makeResult(clusterPolicy("b"), pod("web"), Outcome::kPass, "", {5, 7}));
  auto back = reportFromJson(toJson(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->ns, r.ns);
  EXPECT_EQ(back->labels, r.labels);
  EXPECT_EQ(back->owners, r.owners);
  EXPECT_EQ(back->scope, r.scope);
  EXPECT_EQ(back->results, r.results);
  EXPECT_EQ(back->summary, r.summary);
  EXPECT_EQ(back->resource_version, "555");
}

TEST(PolicyReportModel, BadJsonGetsPreciseErrors) {
  json j = toJson(namespaceReport({"", "", "", "team-a", "u", "1"}));
  j["results"] = json::array({{{"policy", "cap-a"}, {"result", "maybe"}}});
  auto r = reportFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "PolicyReport team-a/polr-ns-team-a results[0].result: unknown result \"maybe\" "
            "(expected pass, fail, warn, error or skip)");
  j["results"] = json::array({{{"result", "pass"}}});
  EXPECT_EQ(reportFromJson(j).error().message,
            "PolicyReport team-a/polr-ns-team-a results[0].policy is required");
  j["results"] = json::array({{{"policy", "cap-a"}}});
  EXPECT_EQ(reportFromJson(j).error().message,
            "PolicyReport team-a/polr-ns-team-a results[0].result is required");
  j["results"] =
      json::array({{{"policy", "cap-a"}, {"result", "pass"}, {"properties", {{"policy-uid", 3}}}}});
  EXPECT_EQ(reportFromJson(j).error().message,
            "PolicyReport team-a/polr-ns-team-a results[0].properties.policy-uid must be a string");
  j["kind"] = "Pod";
  EXPECT_EQ(reportFromJson(j).error().message,
            "kind must be PolicyReport or ClusterPolicyReport, not \"Pod\"");
}

// The simdjson reader gives exactly what the nlohmann one gives, for every kind of report.
void expectSameReport(const PolicyReport& a, const PolicyReport& b) {
  EXPECT_TRUE(a.kind == b.kind);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.ns, b.ns);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.owners, b.owners);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.summary, b.summary);
  EXPECT_EQ(a.results, b.results);
  EXPECT_EQ(a.skipped_policies, b.skipped_policies);
  EXPECT_EQ(a.resource_version, b.resource_version);
}

TEST(PolicyReportModel, FastTextReaderMatchesTheJsonReader) {
  PolicyReport per = resourceReport(pod("web"), "run-1");
  PolicyInfo p = clusterPolicy("a");
  p.severity = "low";
  upsertResult(per, makeResult(p, pod("web"), Outcome::kFail, "no \"quoted\" \u00e9", {5, 6}));
  upsertResult(per, makeResult(clusterPolicy("b"), pod("web"), Outcome::kSkip, "", {5, 7}));
  PolicyReport ns = namespaceReport({"v1", "Namespace", "", "team-a", "u", "1"}, "run-2");
  for (int i = 0; i < 50; ++i)
    upsertResult(
        ns, makeResult(clusterPolicy("p" + std::to_string(i % 3)), pod("pod-" + std::to_string(i)),
                       i % 7 ? Outcome::kPass : Outcome::kFail, "m", {i, i}));
  ns.skipped_policies = 2;
  recomputeSummary(ns);
  PolicyReport cluster = clusterReport("run-3");
  for (const PolicyReport& r : {per, ns, cluster}) {
    json j = toJson(r);
    j["metadata"]["resourceVersion"] = "77";
    j["metadata"]["managedFields"] = json::array({{{"manager", "x"}}});  // ignored by both
    auto slow = reportFromJson(j);
    ASSERT_TRUE(slow.ok()) << slow.error().message;
    auto fast = reportFromJsonText(j.dump());
    ASSERT_TRUE(fast.has_value()) << j.dump();
    expectSameReport(*fast, *slow);
  }
}

TEST(PolicyReportModel, FastTextReaderGivesUpWhereTheJsonReaderHasAnError) {
  json j = toJson(namespaceReport({"", "", "", "team-a", "u", "1"}));
  EXPECT_TRUE(reportFromJsonText(j.dump()).has_value());
  for (json bad :
       {json::array({{{"policy", "cap-a"}, {"result", "maybe"}}}),
        json::array({{{"result", "pass"}}}),
        json::array({{{"policy", "cap-a"}, {"result", "pass"}, {"scored", "yes"}}}),
        json::array(
            {{{"policy", "cap-a"}, {"result", "pass"}, {"properties", {{"policy-uid", 3}}}}})}) {
    json copy = j;
    copy["results"] = bad;
    EXPECT_FALSE(reportFromJsonText(copy.dump()).has_value()) << bad.dump();
    EXPECT_FALSE(reportFromJson(copy).ok()) << bad.dump();
  }
  EXPECT_FALSE(reportFromJsonText("{\"kind\": \"PolicyReport\", ").has_value());
  EXPECT_FALSE(reportFromJsonText("[]").has_value());
}

}  // namespace
}  // namespace kw::reports
