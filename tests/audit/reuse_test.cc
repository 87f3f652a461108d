#include "audit/reuse.h"

#include <gtest/gtest.h>

#include "audit/report_builder.h"

namespace kw::audit {
namespace {

using reports::Outcome;

reports::PolicyInfo policy(std::string uid, std::string rv) {
  reports::PolicyInfo p;
  p.name = "pol-" + uid;
  p.uid = std::move(uid);
  p.resource_version = std::move(rv);
  return p;
}

reports::ObjectRef pod(std::string uid, std::string rv) {
  return {"v1", "Pod", "shop", "pod-" + uid, std::move(uid), std::move(rv)};
}

TEST(AuditReuse, ResultHoldsOnlyWhileResourceAndPolicyAreUnchanged) {
  reports::PolicyReport previous =
      reports::namespaceReport({"v1", "Namespace", "", "shop", "ns", ""});
  previous.results.push_back(
      reports::makeResult(policy("p1", "10"), pod("a", "5"), Outcome::kFail, "no"));
  previous.results.push_back(
      reports::makeResult(policy("p1", "10"), pod("b", "6"), Outcome::kError, "down"));
  ReuseIndex index;
  index.add(previous);
  const reports::ReportResult* same = index.find(policy("p1", "10"), pod("a", "5"));
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->result, Outcome::kFail);
  EXPECT_EQ(same->message, "no");
  EXPECT_EQ(index.find(policy("p1", "11"), pod("a", "5")), nullptr) << "policy changed";
  EXPECT_EQ(index.find(policy("p1", "10"), pod("a", "9")), nullptr) << "resource changed";
  EXPECT_EQ(index.find(policy("p2", "10"), pod("a", "5")), nullptr) << "another policy";
  EXPECT_EQ(index.find(policy("p1", "10"), pod("b", "6")), nullptr) << "errors are evaluated again";
}

TEST(AuditReports, NamespaceReportCountsResultsAndSkippedPolicies) {
  std::vector<reports::ReportResult> results = {
      reports::makeResult(policy("p1", "1"), pod("b", "1"), Outcome::kPass, ""),
      reports::makeResult(policy("p1", "1"), pod("a", "1"), Outcome::kFail, "x"),
      reports::makeResult(policy("p2", "1"), pod("a", "1"), Outcome::kError, "down")};
  reports::PolicyReport r = scopeReport({"", "", "", "shop", "ns-uid", ""}, results, 2, "run-1");
  EXPECT_EQ(r.name, "polr-ns-shop");
  EXPECT_EQ(r.ns, "shop");
  EXPECT_EQ(r.runUid(), "run-1");
  EXPECT_EQ(r.summary, (reports::Summary{1, 1, 0, 1, 2}));
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[0].subjectUid(), "a");  // sorted by subject, then policy
  EXPECT_EQ(r.results[0].policy, "cap-pol-p1");
  EXPECT_EQ(r.results[2].subjectUid(), "b");

  reports::PolicyReport cluster = scopeReport({}, {}, 1, "run-1");
  EXPECT_EQ(cluster.name, "polr-clusterwide");
  EXPECT_EQ(cluster.kind, reports::ReportKind::kClusterPolicyReport);
  EXPECT_EQ(cluster.summary, (reports::Summary{0, 0, 0, 0, 1}));
}

TEST(AuditReports, ResourceReportsOnePerSubjectOwnedByIt) {
  std::vector<reports::ReportResult> results = {
      reports::makeResult(policy("p1", "1"), pod("b", "1"), Outcome::kPass, ""),
      reports::makeResult(policy("p1", "1"), pod("a", "1"), Outcome::kFail, "x"),
      reports::makeResult(policy("p2", "1"), pod("a", "1"), Outcome::kPass, "")};
  auto out = resourceReports(results, "run-2");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "a");
  EXPECT_EQ(out[0].ns, "shop");
  EXPECT_EQ(out[0].summary, (reports::Summary{1, 1, 0, 0, 0}));
  ASSERT_EQ(out[0].owners.size(), 1u);
  EXPECT_EQ(out[0].owners[0].uid, "a");
  EXPECT_EQ(out[0].granularity(), reports::Granularity::kResource);
  EXPECT_EQ(out[1].name, "b");
  EXPECT_EQ(out[1].summary, (reports::Summary{1, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace kw::audit
