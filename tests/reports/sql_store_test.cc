// What only the relational stores promise, on SQLite (a real file) and PostgreSQL (a real
// server): a run's writes become visible at commit, a scan killed halfway (a child process
// SIGKILLed mid-run) leaves the previous complete results readable, the runs table says what
// happened, and the documented views summarise per namespace and per policy.
#include "reports/sql_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "support/cant_run.h"
#include "support/postgres_process.h"
#include "support/report_samples.h"

namespace kw::reports {
namespace {

using test::PostgresProcess;
using namespace kw::test::samples;

class SqlStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      std::string path = test::tempSqlitePath(test::uniqueDbName()).string();
      open_ = [path] { return openSqliteStore(path); };
      driver_ = [path] { return openSqlite(path); };
    } else {
      PostgresProcess* pg = test::sharedPostgres();
      if (!pg) KW_CANT_RUN() << PostgresProcess::unavailableReason();
      ASSERT_TRUE(pg->ready()) << pg->error();
      std::string url = pg->createDatabase(test::uniqueDbName());
      ASSERT_FALSE(url.empty()) << pg->error();
      open_ = [url] { return openPostgresStore(url); };
      driver_ = [url] { return openPostgres(url); };
    }
  }

  std::unique_ptr<ReportStore> open() {
    auto s = open_();
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Rows of `sql` through a connection of its own (as psql or Grafana would read).
  std::vector<SqlRow> rows(const std::string& sql) {
    auto db = driver_();
    EXPECT_TRUE(db.ok()) << db.error().message;
    if (!db.ok()) return {};
    auto r = (*db)->query(sql);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<SqlRow>{};
  }

  std::map<std::string, std::string> runStatuses() {
    std::map<std::string, std::string> out;
    for (const SqlRow& r : rows("SELECT uid, status FROM runs")) out[*r[0]] = *r[1];
    return out;
  }

  size_t namespaceResults(ReportStore& store, const std::string& ns) {
    auto r = store.getNamespaceReport(ns);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() && r->has_value() ? (*r)->results.size() : 0;
  }

  std::function<Result<std::unique_ptr<ReportStore>>()> open_;
  std::function<Result<std::unique_ptr<SqlDriver>>()> driver_;
};

TEST_P(SqlStoreTest, RunIsInvisibleToOtherReadersUntilItCommits) {
  auto writer = open();
  auto reader = open();
  ASSERT_TRUE(writer && reader);
  ASSERT_TRUE(writer->beginRun("run-1").ok());
  ASSERT_TRUE(writer->saveNamespaceReport(sampleNamespaceReport("team-a", "run-1", 4, 2)).ok());
  EXPECT_EQ(namespaceResults(*writer, "team-a"), 8u);  // the run reads its own writes
  EXPECT_EQ(namespaceResults(*reader, "team-a"), 0u);  // nobody else does yet
  EXPECT_EQ(runStatuses()["run-1"], "running");
  ASSERT_TRUE(writer->commitRun().ok());
  EXPECT_EQ(namespaceResults(*reader, "team-a"), 8u);
  EXPECT_EQ(runStatuses()["run-1"], "complete");
}

TEST_P(SqlStoreTest, AbortedRunLeavesThePreviousResults) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->beginRun("run-1").ok());
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-a", "run-1", 2, 2)).ok());
  ASSERT_TRUE(store->commitRun().ok());
  ASSERT_TRUE(store->beginRun("run-2").ok());
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-a", "run-2", 5, 2)).ok());
  ASSERT_TRUE(store->deleteStale(StaleScope::all()).ok());
  ASSERT_TRUE(store->abortRun().ok());
  auto got = store->getNamespaceReport("team-a");
  ASSERT_TRUE(got.ok() && got->has_value());
  expectSameReport(**got, sampleNamespaceReport("team-a", "run-1", 2, 2));
  EXPECT_EQ(runStatuses(),
            (std::map<std::string, std::string>{{"run-1", "complete"}, {"run-2", "aborted"}}));
}

// The acceptance case of issue #12: a scan killed halfway. A child process opens the store,
// starts run-2, replaces team-a's results and deletes the rest as stale, and is SIGKILLed
// before it commits. The previous complete scan must still be there, whole.
TEST_P(SqlStoreTest, ScanKilledHalfwayLeavesThePreviousCompleteResults) {
  PolicyReport old_a = sampleNamespaceReport("team-a", "run-1", 3, 2);
  PolicyReport old_b = sampleNamespaceReport("team-b", "run-1", 2, 3);
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->beginRun("run-1").ok());
    ASSERT_TRUE(store->saveNamespaceReport(old_a).ok());
    ASSERT_TRUE(store->saveNamespaceReport(old_b).ok());
    ASSERT_TRUE(store->commitRun().ok());
  }  // closed: a connection must not cross fork()

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto store = open_();
    bool ok = store.ok() && (*store)->beginRun("run-2").ok() &&
              (*store)->saveNamespaceReport(sampleNamespaceReport("team-a", "run-2", 9, 1)).ok() &&
              (*store)->deleteStale(StaleScope::all()).ok();
    char byte = ok ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    ::pause();  // killed here, mid-run
    ::_exit(3);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(byte, 'y') << "the child could not write its partial run";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  auto store = open();
  ASSERT_TRUE(store);
  for (const PolicyReport* want : {&old_a, &old_b}) {
    auto got = store->getNamespaceReport(want->ns);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_TRUE(got->has_value()) << want->ns;
    expectSameReport(**got, *want);
  }
  EXPECT_EQ(rows("SELECT namespace, fail, pass FROM namespace_summary ORDER BY namespace"),
            (std::vector<SqlRow>{{"team-a", "3", "3"}, {"team-b", "2", "4"}}));
  EXPECT_EQ(runStatuses()["run-2"], "running");  // nobody could record its end
  // The next scan marks it aborted and works normally.
  ASSERT_TRUE(store->beginRun("run-3").ok());
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-a", "run-3", 1, 1)).ok());
  ASSERT_TRUE(store->commitRun().ok());
  EXPECT_EQ(runStatuses(),
            (std::map<std::string, std::string>{
                {"run-1", "complete"}, {"run-2", "aborted"}, {"run-3", "complete"}}));
  EXPECT_EQ(namespaceResults(*store, "team-a"), 1u);
}

TEST_P(SqlStoreTest, ViewsSummarisePerNamespaceAndPerPolicy) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->beginRun("run-1").ok());
  // 50 pods in team-a: policy-0 fails on all of them, policy-1 passes; 3 pods in team-b.
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-a", "run-1", 50, 2)).ok());
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-b", "run-1", 3, 2)).ok());
  ASSERT_TRUE(store->saveClusterReport(sampleClusterReport("run-1", 2)).ok());
  ASSERT_TRUE(store->commitRun().ok());
  EXPECT_EQ(rows("SELECT namespace, pass, fail, warn, error, skip, total FROM namespace_summary "
                 "ORDER BY namespace"),
            (std::vector<SqlRow>{{"", "1", "0", "0", "1", "0", "2"},
                                 {"team-a", "50", "50", "0", "0", "0", "100"},
                                 {"team-b", "3", "3", "0", "0", "0", "6"}}));
  EXPECT_EQ(rows("SELECT policy, rule, pass, fail, error, total FROM policy_summary "
                 "ORDER BY policy"),
            (std::vector<SqlRow>{{"ap-policy-1", "policy-1", "54", "0", "0", "54"},
                                 {"cap-policy-0", "policy-0", "0", "53", "1", "54"}}));
}

TEST_P(SqlStoreTest, ResultRowsCarryTheRunThatWroteThem) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->beginRun("run-1").ok());
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-a", "run-1", 1, 1)).ok());
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-b", "run-1", 1, 1)).ok());
  ASSERT_TRUE(store->commitRun().ok());
  ASSERT_TRUE(store->beginRun("run-2").ok());
  ASSERT_TRUE(store->saveNamespaceReport(sampleNamespaceReport("team-b", "run-2", 1, 1)).ok());
  ASSERT_TRUE(store->commitRun().ok());
  EXPECT_EQ(rows("SELECT r.namespace, runs.uid FROM results r JOIN runs ON runs.id = r.run_id "
                 "ORDER BY r.namespace"),
            (std::vector<SqlRow>{{"team-a", "run-1"}, {"team-b", "run-2"}}));
  // The report read back names its run in the label, as the Kubernetes store's would.
  auto b = store->getNamespaceReport("team-b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->runUid(), "run-2");
}

TEST_P(SqlStoreTest, ResultWithoutPolicyUidIsRefusedAndNothingIsWritten) {
  auto store = open();
  ASSERT_TRUE(store);
  PolicyReport bad = sampleNamespaceReport("team-a", "", 2, 1);
  bad.results[1].properties.erase(kPropPolicyUid);
  auto s = store->saveNamespaceReport(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "report polr-ns-team-a: the result of cap-policy-0 has no policy-uid property");
  EXPECT_TRUE(rows("SELECT * FROM results").empty());  // the first result was rolled back
  EXPECT_TRUE(rows("SELECT * FROM reports").empty());
}

TEST_P(SqlStoreTest, ManyResultsAndRepeatedPairsAreWrittenWhole) {
  auto store = open();
  ASSERT_TRUE(store);
  // 250 results: more than one multi-row INSERT, and a (resource, policy) pair given twice
  // (the later one wins, as in the model's upsert).
  PolicyReport big = sampleNamespaceReport("team-a", "", 125, 2);
  ReportResult again = big.results.front();
  again.message = "second verdict";
  big.results.push_back(again);
  ASSERT_TRUE(store->saveNamespaceReport(big).ok());
  auto got = store->getNamespaceReport("team-a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->results.size(), 250u);
  EXPECT_EQ(rows("SELECT message FROM results WHERE resource_uid = 'uid-team-a-pod-0' AND "
                 "policy_uid = 'uid-policy-0'"),
            (std::vector<SqlRow>{{"second verdict"}}));
}

TEST(SqlStoreOpen, ErrorsNameTheDatabase) {
  auto bad_path = openSqliteStore("/nonexistent-dir/reports.db");
  ASSERT_FALSE(bad_path.ok());
  EXPECT_NE(
      bad_path.error().message.find("cannot open sqlite database /nonexistent-dir/reports.db"),
      std::string::npos)
      << bad_path.error().message;
  EXPECT_EQ(openSqliteStore("").error().message,
            "the sqlite store needs a database file (--store-path)");
  EXPECT_EQ(openPostgresStore("").error().message,
            "the postgres store needs a connection URL (--store-url)");
  auto refused = openPostgresStore("host=127.0.0.1 port=1 connect_timeout=2");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.rfind("cannot connect to postgres: ", 0), 0u)
      << refused.error().message;
}

INSTANTIATE_TEST_SUITE_P(Sql, SqlStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kw::reports
