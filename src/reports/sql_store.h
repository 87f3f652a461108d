// The relational store (`--store sqlite` / `--store postgres`): the latest result per
// (resource UID, policy UID) with the run that wrote it, enough per report to rebuild it, and
// views with per-namespace and per-policy summaries (docs/reports-schema.md).
//
// A run is one database transaction: beginRun records the run (committed at once, status
// `running`) and opens the transaction; every save of the run goes into it; commitRun marks the
// run `complete` and commits. A scan killed halfway never commits, so readers keep seeing the
// previous complete results; the next beginRun marks such leftover runs `aborted`.
#pragma once

#include <memory>
#include <mutex>

#include "reports/sql_driver.h"
#include "reports/store.h"

namespace kw::reports {

class SqlStore : public ReportStore {
 public:
  // Creates the schema if it is missing.
  static Result<std::unique_ptr<SqlStore>> open(std::unique_ptr<SqlDriver> driver);

  Status beginRun(const std::string& run_uid) override;
  Status commitRun() override;
  Status abortRun() override;
  Result<std::optional<PolicyReport>> getNamespaceReport(const std::string& ns) override;
  Result<std::optional<PolicyReport>> getClusterReport() override;
  Status saveNamespaceReport(const PolicyReport& report) override;
  Status saveClusterReport(const PolicyReport& report) override;
  Result<std::optional<PolicyReport>> getResourceReport(const std::string& ns,
                                                        const std::string& uid) override;
  Status saveResourceReport(const PolicyReport& report) override;
  Status deleteStale(const StaleScope& scope) override;

  // For tests and tools: raw access to the database (views, runs).
  SqlDriver& driver() { return *db_; }

 private:
  explicit SqlStore(std::unique_ptr<SqlDriver> db) : db_(std::move(db)) {}
  Status createSchema();
  Status save(const PolicyReport& report, Granularity granularity);
  Status writeReport(const PolicyReport& report, Granularity granularity);
  Result<std::optional<PolicyReport>> load(const std::string& ns, const std::string& name);

  std::mutex mu_;
  std::unique_ptr<SqlDriver> db_;
  int64_t run_id_ = 0;  // the run in progress, 0 when none
  std::string run_uid_;
};

Result<std::unique_ptr<ReportStore>> openSqliteStore(const std::string& path);
Result<std::unique_ptr<ReportStore>> openPostgresStore(const std::string& url);

}  // namespace kw::reports
