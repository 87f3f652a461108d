// Sample PolicyReports for the store tests (unit and cluster): Pods of a namespace checked by a
// few policies with a mix of verdicts, and a comparison that ignores result order (SQL returns
// rows in its own order) and the server-side metadata.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <string>

#include "reports/policy_report.h"

namespace kw::test {

namespace samples {

using namespace kw::reports;

inline ObjectRef samplePod(const std::string& ns, const std::string& name,
                           const std::string& rv = "1") {
  return {"v1", "Pod", ns, name, "uid-" + name, rv};
}

inline PolicyInfo samplePolicy(int i) {
  PolicyInfo p;
  p.cluster_wide = i % 2 == 0;
  p.name = "policy-" + std::to_string(i);
  p.ns = p.cluster_wide ? "" : "team-a";
  p.uid = "uid-policy-" + std::to_string(i);
  p.resource_version = std::to_string(100 + i);
  p.severity = i == 0 ? "high" : "";
  p.category = "PSP";
  return p;
}

// `pods` Pods in `ns` × `policies` policies: policy 0 fails, the others pass; one extra
// policy counted as skipped.
inline PolicyReport sampleNamespaceReport(const std::string& ns, const std::string& run_uid,
                                          int pods, int policies) {
  PolicyReport r = namespaceReport({"v1", "Namespace", "", ns, "uid-ns-" + ns, "3"}, run_uid);
  for (int p = 0; p < pods; ++p)
    for (int i = 0; i < policies; ++i)
      upsertResult(r, makeResult(samplePolicy(i), samplePod(ns, ns + "-pod-" + std::to_string(p)),
                                 i == 0 ? Outcome::kFail : Outcome::kPass,
                                 i == 0 ? "not allowed" : "", {1700000000 + p, i}));
  r.skipped_policies = 1;
  recomputeSummary(r);
  return r;
}

inline PolicyReport sampleClusterReport(const std::string& run_uid, int policies) {
  PolicyReport r = clusterReport(run_uid);
  ObjectRef ns{"v1", "Namespace", "", "team-a", "uid-ns-team-a", "3"};
  for (int i = 0; i < policies; ++i)
    upsertResult(r, makeResult(samplePolicy(i), ns, i == 0 ? Outcome::kError : Outcome::kPass,
                               i == 0 ? "policy-server unreachable" : "", {1700000000, 0}));
  return r;
}

inline PolicyReport sampleResourceReport(const ObjectRef& resource, const std::string& run_uid) {
  PolicyReport r = resourceReport(resource, run_uid);
  upsertResult(r, makeResult(samplePolicy(0), resource, Outcome::kFail, "no", {1700000001, 5}));
  upsertResult(r, makeResult(samplePolicy(1), resource, Outcome::kPass, "", {1700000001, 6}));
  return r;
}

inline std::vector<ReportResult> sortedResults(std::vector<ReportResult> results) {
  std::sort(results.begin(), results.end(), [](const auto& a, const auto& b) {
    return std::pair(a.subjectUid(), a.policyUid()) < std::pair(b.subjectUid(), b.policyUid());
  });
  return results;
}

// Same report as far as the scanner cares: identity, labels we set, scope, results, summary.
inline void expectSameReport(const PolicyReport& got, const PolicyReport& want) {
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.ns, want.ns);
  for (const auto& [k, v] : want.labels) {
    auto it = got.labels.find(k);
    ASSERT_NE(it, got.labels.end()) << "label " << k;
    EXPECT_EQ(it->second, v) << "label " << k;
  }
  EXPECT_EQ(got.scope, want.scope);
  EXPECT_EQ(got.owners, want.owners);
  EXPECT_EQ(sortedResults(got.results), sortedResults(want.results));
  EXPECT_EQ(got.summary, want.summary);
  EXPECT_EQ(got.skipped_policies, want.skipped_policies);
}

}  // namespace samples

// A database name from the running test's name, unique within this process.
inline std::string uniqueDbName() {
  static std::atomic<int> counter{0};
  std::string n = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string out = "kw_";
  for (char c : n.substr(0, 40))
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
               : '_';
  return out + "_" + std::to_string(++counter);
}

// A fresh SQLite file path (older files of that name and their WAL removed).
inline std::filesystem::path tempSqlitePath(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kw-reports-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / (name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p;
}

}  // namespace kw::test
