#include "reports/sql_store.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

namespace kw::reports {
namespace {

using json = nlohmann::json;
using Dialect = SqlDriver::Dialect;

constexpr int kSchemaVersion = 1;

// Portable SQL with three dialect holes: the run id column, timestamps and view creation.
std::string dialectSql(std::string sql, Dialect d) {
  auto replace = [&](const std::string& hole, const std::string& with) {
    for (size_t at = sql.find(hole); at != std::string::npos; at = sql.find(hole, at))
      sql.replace(at, hole.size(), with);
  };
  bool pg = d == Dialect::kPostgres;
  replace("{ID}", pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
  replace("{TS}", pg ? "TIMESTAMPTZ" : "TEXT");
  replace("{VIEW}", pg ? "CREATE OR REPLACE VIEW" : "CREATE VIEW IF NOT EXISTS");
  return sql;
}

const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id {ID},
  uid TEXT NOT NULL UNIQUE,
  started {TS} NOT NULL,
  finished {TS},
  status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'aborted'))
);
CREATE TABLE IF NOT EXISTS reports (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  granularity TEXT NOT NULL CHECK (granularity IN ('namespace', 'cluster', 'resource')),
  scope TEXT,
  skipped_policies BIGINT NOT NULL DEFAULT 0,
  run_id BIGINT REFERENCES runs (id),
  PRIMARY KEY (namespace, name)
);
CREATE TABLE IF NOT EXISTS results (
  resource_uid TEXT NOT NULL,
  policy_uid TEXT NOT NULL,
  run_id BIGINT REFERENCES runs (id),
  report_namespace TEXT NOT NULL,
  report_name TEXT NOT NULL,
  namespace TEXT NOT NULL,
  resource_api_version TEXT NOT NULL,
  resource_kind TEXT NOT NULL,
  resource_name TEXT NOT NULL,
  resource_version TEXT NOT NULL,
  policy TEXT NOT NULL,
  rule TEXT NOT NULL,
  policy_resource_version TEXT NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('pass', 'fail', 'warn', 'error', 'skip')),
  severity TEXT NOT NULL,
  category TEXT NOT NULL,
  scored INTEGER NOT NULL,
  message TEXT NOT NULL,
  timestamp_seconds BIGINT NOT NULL,
  timestamp_nanos INTEGER NOT NULL,
  properties TEXT NOT NULL,
  PRIMARY KEY (resource_uid, policy_uid)
);
CREATE INDEX IF NOT EXISTS results_by_report ON results (report_namespace, report_name);
CREATE INDEX IF NOT EXISTS results_by_namespace ON results (namespace);
{VIEW} namespace_summary AS
  SELECT namespace,
         SUM(CASE WHEN result = 'pass' THEN 1 ELSE 0 END) AS pass,
         SUM(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fail,
         SUM(CASE WHEN result = 'warn' THEN 1 ELSE 0 END) AS warn,
         SUM(CASE WHEN result = 'error' THEN 1 ELSE 0 END) AS error,
         SUM(CASE WHEN result = 'skip' THEN 1 ELSE 0 END) AS skip,
         COUNT(*) AS total
  FROM results GROUP BY namespace;
{VIEW} policy_summary AS
  SELECT policy, rule, policy_uid,
         SUM(CASE WHEN result = 'pass' THEN 1 ELSE 0 END) AS pass,
         SUM(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fail,
         SUM(CASE WHEN result = 'warn' THEN 1 ELSE 0 END) AS warn,
         SUM(CASE WHEN result = 'error' THEN 1 ELSE 0 END) AS error,
         SUM(CASE WHEN result = 'skip' THEN 1 ELSE 0 END) AS skip,
         COUNT(*) AS total
  FROM results GROUP BY policy, rule, policy_uid;
)SQL";

constexpr int kResultColumns = 21;
// PostgreSQL: one round trip per 100 results, not per result. SQLite runs in-process, where a
// cached one-row statement is the fastest path.
constexpr size_t kRowsPerInsertPostgres = 100;

// INSERT of `rows` results ($1..$21 the first row, $22.. the next). A (resource, policy) pair
// already held by another report (the granularity changed) moves to this one.
std::string insertResultsSql(size_t rows) {
  std::string sql =
      "INSERT INTO results (resource_uid, policy_uid, run_id, report_namespace, report_name, "
      "namespace, resource_api_version, resource_kind, resource_name, resource_version, policy, "
      "rule, policy_resource_version, result, severity, category, scored, message, "
      "timestamp_seconds, timestamp_nanos, properties) VALUES ";
  for (size_t r = 0; r < rows; ++r) {
    sql += r ? ", (" : "(";
    for (int c = 1; c <= kResultColumns; ++c) {
      sql += "$" + std::to_string(r * kResultColumns + c);
      if (c < kResultColumns) sql += ", ";
    }
    sql += ")";
  }
  sql +=
      " ON CONFLICT (resource_uid, policy_uid) DO UPDATE SET run_id = excluded.run_id, "
      "report_namespace = excluded.report_namespace, report_name = excluded.report_name, "
      "namespace = excluded.namespace, resource_api_version = excluded.resource_api_version, "
      "resource_kind = excluded.resource_kind, resource_name = excluded.resource_name, "
      "resource_version = excluded.resource_version, policy = excluded.policy, "
      "rule = excluded.rule, policy_resource_version = excluded.policy_resource_version, "
      "result = excluded.result, severity = excluded.severity, category = excluded.category, "
      "scored = excluded.scored, message = excluded.message, "
      "timestamp_seconds = excluded.timestamp_seconds, "
      "timestamp_nanos = excluded.timestamp_nanos, properties = excluded.properties";
  return sql;
}

const char* kSelectResults = R"SQL(
SELECT resource_uid, namespace, resource_api_version, resource_kind, resource_name,
  resource_version, policy, rule, result, severity, category, scored, message,
  timestamp_seconds, timestamp_nanos, properties
FROM results WHERE report_namespace = $1 AND report_name = $2
ORDER BY namespace, resource_kind, resource_name, policy
)SQL";

std::string utcNow() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* granularityName(Granularity g) {
  switch (g) {
    case Granularity::kNamespace:
      return "namespace";
    case Granularity::kCluster:
      return "cluster";
    case Granularity::kResource:
      return "resource";
  }
  return "namespace";
}

std::string text(const std::optional<std::string>& v) {
  return v.value_or("");
}

int64_t number(const std::optional<std::string>& v) {
  return v ? std::stoll(*v) : 0;
}

// A result row back into the model (columns as kSelectResults lists them).
Result<ReportResult> rowToResult(const SqlRow& row) {
  ReportResult r;
  ObjectRef subject{text(row[2]), text(row[3]), text(row[1]),
                    text(row[4]), text(row[0]), text(row[5])};
  r.resources.push_back(std::move(subject));
  r.policy = text(row[6]);
  r.rule = text(row[7]);
  auto outcome = parseOutcome(text(row[8]));
  if (!outcome) return outcome.error();
  r.result = *outcome;
  r.severity = text(row[9]);
  r.category = text(row[10]);
  r.scored = number(row[11]) != 0;
  r.message = text(row[12]);
  r.timestamp = {number(row[13]), static_cast<int32_t>(number(row[14]))};
  try {
    r.properties = json::parse(text(row[15])).get<std::map<std::string, std::string>>();
  } catch (const json::exception& e) {
    return makeError("results row of " + r.policy + ": malformed properties: " + e.what());
  }
  return r;
}

}  // namespace

Result<std::unique_ptr<SqlStore>> SqlStore::open(std::unique_ptr<SqlDriver> driver) {
  std::unique_ptr<SqlStore> store(new SqlStore(std::move(driver)));
  if (auto s = store->createSchema(); !s) return s.error();
  return store;
}

Status SqlStore::createSchema() {
  if (auto s = db_->exec(dialectSql(kSchema, db_->dialect())); !s) return s;
  auto rows = db_->query("SELECT version FROM schema_version");
  if (!rows) return rows.error();
  if (rows->empty())
    return db_->query("INSERT INTO schema_version (version) VALUES ($1)", {int64_t{kSchemaVersion}})
                   .ok()
               ? okStatus()
               : makeError("cannot record the schema version");
  if (number((*rows)[0][0]) != kSchemaVersion)
    return makeError("the database has reports schema version " + text((*rows)[0][0]) +
                     ", this build knows version " + std::to_string(kSchemaVersion));
  return okStatus();
}

Status SqlStore::beginRun(const std::string& run_uid) {
  if (run_uid.empty()) return makeError("a scan run needs a run uid");
  std::lock_guard lock(mu_);
  if (run_id_ != 0) return makeError("run " + run_uid_ + " is still in progress");
  // A run still `running` here was killed before it committed: nothing of it is visible.
  auto marked = db_->query("UPDATE runs SET status = 'aborted' WHERE status = 'running'");
  if (!marked) return marked.error();
  auto id =
      db_->query("INSERT INTO runs (uid, started, status) VALUES ($1, $2, 'running') RETURNING id",
                 {run_uid, utcNow()});
  if (!id) return id.error();
  if (auto s = db_->exec("BEGIN"); !s) return s;
  run_id_ = number(id->at(0).at(0));
  run_uid_ = run_uid;
  return okStatus();
}

Status SqlStore::commitRun() {
  std::lock_guard lock(mu_);
  if (run_id_ == 0) return makeError("commitRun without beginRun");
  auto done = db_->query("UPDATE runs SET status = 'complete', finished = $1 WHERE id = $2",
                         {utcNow(), run_id_});
  Status s = done ? db_->exec("COMMIT") : Status(done.error());
  if (!s) {
    (void)db_->exec("ROLLBACK");
    (void)db_->query("UPDATE runs SET status = 'aborted', finished = $1 WHERE id = $2",
                     {utcNow(), run_id_});
  }
  run_id_ = 0;
  run_uid_.clear();
  return s;
}

Status SqlStore::abortRun() {
  std::lock_guard lock(mu_);
  if (run_id_ == 0) return okStatus();
  Status s = db_->exec("ROLLBACK");
  auto marked = db_->query("UPDATE runs SET status = 'aborted', finished = $1 WHERE id = $2",
                           {utcNow(), run_id_});
  run_id_ = 0;
  run_uid_.clear();
  if (!s) return s;
  return marked ? okStatus() : Status(marked.error());
}

Status SqlStore::writeReport(const PolicyReport& report, Granularity granularity) {
  SqlValue run = run_id_ ? SqlValue(run_id_) : SqlValue(nullptr);
  SqlValue scope = report.scope ? SqlValue(toJson(*report.scope).dump()) : SqlValue(nullptr);
  auto upserted = db_->query(
      "INSERT INTO reports (namespace, name, granularity, scope, skipped_policies, run_id) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (namespace, name) DO UPDATE SET "
      "granularity = excluded.granularity, scope = excluded.scope, "
      "skipped_policies = excluded.skipped_policies, run_id = excluded.run_id",
      {report.ns, report.name, std::string(granularityName(granularity)), scope,
       report.skipped_policies, run});
  if (!upserted) return upserted.error();
  // The report's results replace what it held before.
  auto cleared = db_->query("DELETE FROM results WHERE report_namespace = $1 AND report_name = $2",
                            {report.ns, report.name});
  if (!cleared) return cleared.error();
  const size_t per_insert = db_->dialect() == Dialect::kPostgres ? kRowsPerInsertPostgres : 1;
  std::vector<SqlValue> batch;
  size_t rows = 0;
  auto flush = [&]() -> Status {
    if (rows == 0) return okStatus();
    auto inserted = db_->query(insertResultsSql(rows), batch);
    batch.clear();
    rows = 0;
    return inserted ? okStatus() : Status(inserted.error());
  };
  // Duplicate (resource, policy) pairs in one statement would be an error in PostgreSQL.
  std::set<std::pair<std::string, std::string>> in_batch;
  for (const ReportResult& r : report.results) {
    const ObjectRef* subject = !r.resources.empty() ? &r.resources.front()
                               : report.scope       ? &*report.scope
                                                    : nullptr;
    if (!subject || subject->uid.empty())
      return makeError("report " + report.name + ": the result of " + r.policy +
                       " names no resource UID");
    if (r.policyUid().empty())
      return makeError("report " + report.name + ": the result of " + r.policy +
                       " has no policy-uid property");
    if (!in_batch.insert({subject->uid, r.policyUid()}).second) {
      if (auto s = flush(); !s) return s;
      in_batch = {{subject->uid, r.policyUid()}};
    }
    auto rv = r.properties.find(kPropPolicyResourceVersion);
    for (SqlValue v : {SqlValue(subject->uid),
                       SqlValue(r.policyUid()),
                       run,
                       SqlValue(report.ns),
                       SqlValue(report.name),
                       SqlValue(subject->ns),
                       SqlValue(subject->api_version),
                       SqlValue(subject->kind),
                       SqlValue(subject->name),
                       SqlValue(subject->resource_version),
                       SqlValue(r.policy),
                       SqlValue(r.rule),
                       SqlValue(rv == r.properties.end() ? std::string() : rv->second),
                       SqlValue(std::string(outcomeName(r.result))),
                       SqlValue(r.severity),
                       SqlValue(r.category),
                       SqlValue(int64_t{r.scored}),
                       SqlValue(r.message),
                       SqlValue(r.timestamp.seconds),
                       SqlValue(int64_t{r.timestamp.nanos}),
                       SqlValue(json(r.properties).dump())})
      batch.push_back(std::move(v));
    if (++rows == per_insert) {
      if (auto s = flush(); !s) return s;
      in_batch.clear();
    }
  }
  if (auto s = flush(); !s) return s;
  return okStatus();
}

Status SqlStore::save(const PolicyReport& report, Granularity granularity) {
  if (report.name.empty()) return makeError("a policy report needs a name");
  if ((report.kind == ReportKind::kClusterPolicyReport) != report.ns.empty())
    return makeError("report " + report.name +
                     ": a PolicyReport needs a namespace and a "
                     "ClusterPolicyReport has none");
  std::lock_guard lock(mu_);
  // Inside a run the run's transaction holds the writes; outside one each save is its own.
  bool own = run_id_ == 0;
  if (own)
    if (auto s = db_->exec("BEGIN"); !s) return s;
  Status s = writeReport(report, granularity);
  if (own) {
    if (s) return db_->exec("COMMIT");
    (void)db_->exec("ROLLBACK");
  }
  return s;
}

Result<std::optional<PolicyReport>> SqlStore::load(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  auto head = db_->query(
      "SELECT r.granularity, r.scope, r.skipped_policies, runs.uid FROM reports r "
      "LEFT JOIN runs ON runs.id = r.run_id WHERE r.namespace = $1 AND r.name = $2",
      {ns, name});
  if (!head) return head.error();
  if (head->empty()) return std::optional<PolicyReport>();
  const SqlRow& row = head->front();
  std::optional<ObjectRef> scope;
  if (row[1]) {
    try {
      auto ref = objectRefFromJson(json::parse(*row[1]), "reports.scope of " + name);
      if (!ref) return ref.error();
      scope = *ref;
    } catch (const json::exception& e) {
      return makeError("reports.scope of " + name + " is not JSON: " + e.what());
    }
  }
  std::string run_uid = text(row[3]);
  PolicyReport report;
  std::string granularity = text(row[0]);
  if (granularity == "resource" && scope) {
    report = resourceReport(*scope, run_uid);
  } else if (granularity == "cluster") {
    report = clusterReport(run_uid);
  } else {
    report = namespaceReport(scope.value_or(ObjectRef{"v1", "Namespace", "", ns, "", ""}), run_uid);
  }
  report.name = name;
  report.skipped_policies = number(row[2]);
  auto rows = db_->query(kSelectResults, {ns, name});
  if (!rows) return rows.error();
  for (const SqlRow& r : *rows) {
    auto result = rowToResult(r);
    if (!result) return result.error();
    report.results.push_back(std::move(*result));
  }
  recomputeSummary(report);
  return std::optional<PolicyReport>(std::move(report));
}

Result<std::optional<PolicyReport>> SqlStore::getNamespaceReport(const std::string& ns) {
  return load(ns, kNamespaceReportPrefix + ns);
}

Result<std::optional<PolicyReport>> SqlStore::getClusterReport() {
  return load("", kClusterReportName);
}

Status SqlStore::saveNamespaceReport(const PolicyReport& report) {
  return save(report, Granularity::kNamespace);
}

Status SqlStore::saveClusterReport(const PolicyReport& report) {
  return save(report, Granularity::kCluster);
}

Result<std::optional<PolicyReport>> SqlStore::getResourceReport(const std::string& ns,
                                                                const std::string& uid) {
  return load(ns, uid);
}

Status SqlStore::saveResourceReport(const PolicyReport& report) {
  return save(report, Granularity::kResource);
}

Status SqlStore::deleteStale(const StaleScope& scope) {
  std::lock_guard lock(mu_);
  if (run_id_ == 0) return makeError("deleteStale needs a run in progress");
  std::string where = "(run_id IS NULL OR run_id <> $1)";
  std::vector<SqlValue> params{run_id_};
  if (scope.which == StaleScope::Which::kNamespace) {
    where += " AND namespace = $2";
    params.push_back(scope.ns);
  } else if (scope.which == StaleScope::Which::kClusterWide) {
    where += " AND namespace = ''";
  }
  // results.namespace is the resource's; a report's results share its namespace.
  auto results = db_->query("DELETE FROM results WHERE " + where, params);
  if (!results) return results.error();
  auto reports = db_->query("DELETE FROM reports WHERE " + where, params);
  if (!reports) return reports.error();
  return okStatus();
}

Result<std::unique_ptr<ReportStore>> openSqliteStore(const std::string& path) {
  auto driver = openSqlite(path);
  if (!driver) return driver.error();
  auto store = SqlStore::open(std::move(*driver));
  if (!store) return store.error();
  return std::unique_ptr<ReportStore>(std::move(*store));
}

Result<std::unique_ptr<ReportStore>> openPostgresStore(const std::string& url) {
  auto driver = openPostgres(url);
  if (!driver) return driver.error();
  auto store = SqlStore::open(std::move(*driver));
  if (!store) return store.error();
  return std::unique_ptr<ReportStore>(std::move(*store));
}

}  // namespace kw::reports
