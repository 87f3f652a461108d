// The store contract, run against every store that needs no cluster: memory, SQLite on a real
// file and PostgreSQL on a real server this binary starts (tests/support/postgres_process.*).
// The Kubernetes store runs the same checks in tests/cluster/reports_store_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>

#include "reports/memory_store.h"
#include "reports/sql_store.h"
#include "support/cant_run.h"
#include "support/postgres_process.h"
#include "support/report_samples.h"

namespace kw::reports {
namespace {

using test::PostgresProcess;
using namespace kw::test::samples;

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string kind = GetParam();
    Result<std::unique_ptr<ReportStore>> s = makeError("no store");
    if (kind == "memory") {
      s = std::unique_ptr<ReportStore>(std::make_unique<MemoryStore>());
    } else if (kind == "sqlite") {
      s = openSqliteStore(test::tempSqlitePath(test::uniqueDbName()).string());
    } else {
      PostgresProcess* pg = test::sharedPostgres();
      if (!pg) KW_CANT_RUN() << PostgresProcess::unavailableReason();
      ASSERT_TRUE(pg->ready()) << pg->error();
      std::string url = pg->createDatabase(test::uniqueDbName());
      ASSERT_FALSE(url.empty()) << pg->error();
      s = openPostgresStore(url);
    }
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }

  std::unique_ptr<ReportStore> store_;
};

TEST_P(StoreContract, MissingReportsAreNullopt) {
  auto ns = store_->getNamespaceReport("nowhere");
  ASSERT_TRUE(ns.ok()) << ns.error().message;
  EXPECT_FALSE(ns->has_value());
  auto cluster = store_->getClusterReport();
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  EXPECT_FALSE(cluster->has_value());
  auto res = store_->getResourceReport("team-a", "uid-none");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_FALSE(res->has_value());
}

TEST_P(StoreContract, NamespaceAndClusterReportsRoundTrip) {
  ASSERT_TRUE(store_->beginRun("run-1").ok());
  PolicyReport ns = sampleNamespaceReport("team-a", "run-1", 3, 2);
  PolicyReport cluster = sampleClusterReport("run-1", 2);
  ASSERT_TRUE(store_->saveNamespaceReport(ns).ok());
  ASSERT_TRUE(store_->saveClusterReport(cluster).ok());
  ASSERT_TRUE(store_->commitRun().ok());

  auto got = store_->getNamespaceReport("team-a");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  expectSameReport(**got, ns);
  EXPECT_EQ((*got)->summary, (Summary{3, 3, 0, 0, 1}));  // 6 results + 1 skipped policy

  auto gotc = store_->getClusterReport();
  ASSERT_TRUE(gotc.ok()) << gotc.error().message;
  ASSERT_TRUE(gotc->has_value());
  expectSameReport(**gotc, cluster);
}

TEST_P(StoreContract, ResourceReportsRoundTripWithOwnersAndLabels) {
  ASSERT_TRUE(store_->beginRun("run-7").ok());
  PolicyReport pod = sampleResourceReport(samplePod("team-a", "web", "5"), "run-7");
  PolicyReport node = sampleResourceReport({"v1", "Node", "", "n1", "uid-n1", "9"}, "run-7");
  ASSERT_TRUE(store_->saveResourceReport(pod).ok());
  ASSERT_TRUE(store_->saveResourceReport(node).ok());
  ASSERT_TRUE(store_->commitRun().ok());
  auto got = store_->getResourceReport("team-a", "uid-web");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  expectSameReport(**got, pod);
  EXPECT_EQ((*got)->owners, pod.owners);
  EXPECT_EQ((*got)->labels.at(kRunUidLabel), "run-7");
  auto gotn = store_->getResourceReport("", "uid-n1");
  ASSERT_TRUE(gotn.ok()) << gotn.error().message;
  ASSERT_TRUE(gotn->has_value());
  EXPECT_EQ((*gotn)->kind, ReportKind::kClusterPolicyReport);
  expectSameReport(**gotn, node);
}

TEST_P(StoreContract, SavingAReportReplacesItsResults) {
  ASSERT_TRUE(store_->beginRun("run-1").ok());
  ASSERT_TRUE(store_->saveNamespaceReport(sampleNamespaceReport("team-a", "run-1", 3, 2)).ok());
  ASSERT_TRUE(store_->commitRun().ok());
  ASSERT_TRUE(store_->beginRun("run-2").ok());
  PolicyReport smaller = sampleNamespaceReport("team-a", "run-2", 1, 1);
  ASSERT_TRUE(store_->saveNamespaceReport(smaller).ok());
  ASSERT_TRUE(store_->commitRun().ok());
  auto got = store_->getNamespaceReport("team-a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->results.size(), 1u);
  expectSameReport(**got, smaller);
}

TEST_P(StoreContract, DeleteStaleRemovesWhatTheRunDidNotWriteInScope) {
  ASSERT_TRUE(store_->beginRun("run-1").ok());
  for (const char* ns : {"team-a", "team-b", "team-c"})
    ASSERT_TRUE(store_->saveNamespaceReport(sampleNamespaceReport(ns, "run-1", 1, 1)).ok());
  ASSERT_TRUE(store_->saveClusterReport(sampleClusterReport("run-1", 1)).ok());
  ASSERT_TRUE(store_->commitRun().ok());

  // Run 2 scans team-a only, then team-c was deleted: a scoped cleanup keeps team-b's report.
  ASSERT_TRUE(store_->beginRun("run-2").ok());
  ASSERT_TRUE(store_->saveNamespaceReport(sampleNamespaceReport("team-a", "run-2", 1, 1)).ok());
  ASSERT_TRUE(store_->deleteStale(StaleScope::namespaced("team-c")).ok());
  ASSERT_TRUE(store_->commitRun().ok());
  EXPECT_TRUE(store_->getNamespaceReport("team-a")->has_value());
  EXPECT_TRUE(store_->getNamespaceReport("team-b")->has_value());
  EXPECT_FALSE(store_->getNamespaceReport("team-c")->has_value());
  EXPECT_TRUE(store_->getClusterReport()->has_value());

  // A full run that writes only team-a: everything else goes, the cluster report too.
  ASSERT_TRUE(store_->beginRun("run-3").ok());
  ASSERT_TRUE(store_->saveNamespaceReport(sampleNamespaceReport("team-a", "run-3", 1, 1)).ok());
  ASSERT_TRUE(store_->deleteStale(StaleScope::all()).ok());
  ASSERT_TRUE(store_->commitRun().ok());
  EXPECT_TRUE(store_->getNamespaceReport("team-a")->has_value());
  EXPECT_FALSE(store_->getNamespaceReport("team-b")->has_value());
  EXPECT_FALSE(store_->getClusterReport()->has_value());
}

TEST_P(StoreContract, InvalidReportsAndRunMisuseAreRefusedClearly) {
  PolicyReport bad = sampleNamespaceReport("team-a", "", 1, 1);
  bad.ns.clear();
  auto s = store_->saveNamespaceReport(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("polr-ns-team-a"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("namespace"), std::string::npos) << s.error().message;
  EXPECT_EQ(store_->commitRun().error().message, "commitRun without beginRun");
  EXPECT_EQ(store_->deleteStale(StaleScope::all()).error().message,
            "deleteStale needs a run in progress");
  ASSERT_TRUE(store_->beginRun("run-1").ok());
  EXPECT_EQ(store_->beginRun("run-2").error().message, "run run-1 is still in progress");
  ASSERT_TRUE(store_->abortRun().ok());
}

TEST_P(StoreContract, SavesDuringARunCarryTheRunLabel) {
  ASSERT_TRUE(store_->beginRun("run-5").ok());
  // The caller built the report for another run (or none): the store stamps the run in progress.
  ASSERT_TRUE(store_->saveNamespaceReport(sampleNamespaceReport("team-a", "stale-run", 1, 1)).ok());
  ASSERT_TRUE(store_->commitRun().ok());
  auto got = store_->getNamespaceReport("team-a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->runUid(), "run-5");
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::Values("memory", "sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(OpenStore, ByNameWithClearErrors) {
  EXPECT_EQ(openStore({"etcd", "", ""}, nullptr).error().message,
            "unknown store \"etcd\" (expected kubernetes, memory, sqlite or postgres)");
  EXPECT_EQ(openStore({"kubernetes", "", ""}, nullptr).error().message,
            "the kubernetes store needs a connection to the API server");
  EXPECT_EQ(openStore({"sqlite", "", ""}, nullptr).error().message,
            "the sqlite store needs a database file (--store-path)");
  auto memory = openStore({"memory", "", ""}, nullptr);
  ASSERT_TRUE(memory.ok());
  EXPECT_NE(memory->get(), nullptr);
  auto path = test::tempSqlitePath("open-store");
  auto sqlite = openStore({"sqlite", path.string(), ""}, nullptr);
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
  // The build has no RTTI: the database file it made shows which store this is.
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
}

}  // namespace
}  // namespace kw::reports
