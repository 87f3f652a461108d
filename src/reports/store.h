// Where PolicyReports go (spec §5.4 plus our relational stores): one small interface, four
// stores. A scan is a run: beginRun(uid) ... saves ... deleteStale ... commitRun(). The SQL
// store makes a run's writes visible only at commitRun (a killed scan leaves the previous
// complete results); the Kubernetes and memory stores write through, like upstream.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "kube/client.h"
#include "reports/policy_report.h"

namespace kw::reports {

// What deleteStale looks at: everything, one namespace's reports, or the cluster-scoped ones.
struct StaleScope {
  enum class Which { kAll, kNamespace, kClusterWide };
  Which which = Which::kAll;
  std::string ns;
  static StaleScope all() { return {}; }
  static StaleScope namespaced(std::string ns) { return {Which::kNamespace, std::move(ns)}; }
  static StaleScope clusterWide() { return {Which::kClusterWide, {}}; }
};

class ReportStore {
 public:
  virtual ~ReportStore() = default;

  // Starts run `run_uid` (the scanner's UUID, also the reports' run-uid label).
  virtual Status beginRun(const std::string& run_uid) = 0;
  // Makes the run's writes visible (SQL) and records it as complete.
  virtual Status commitRun() = 0;
  // Drops the run's uncommitted writes where the store can (SQL); records it as aborted.
  virtual Status abortRun() = 0;

  // 1.10 reports: `polr-ns-<ns>` and `polr-clusterwide`. nullopt when there is none.
  virtual Result<std::optional<PolicyReport>> getNamespaceReport(const std::string& ns) = 0;
  virtual Result<std::optional<PolicyReport>> getClusterReport() = 0;
  // Creates or replaces the report (its results replace the stored ones).
  virtual Status saveNamespaceReport(const PolicyReport& report) = 0;
  virtual Status saveClusterReport(const PolicyReport& report) = 0;

  // 1.11 reports: one per resource, named by its UID (`ns` empty: cluster-scoped resource).
  virtual Result<std::optional<PolicyReport>> getResourceReport(const std::string& ns,
                                                                const std::string& uid) = 0;
  virtual Status saveResourceReport(const PolicyReport& report) = 0;

  // Deletes, within `scope`, the reports (and in SQL the results) that the current run did not
  // write: resources or namespaces that are gone, policies that no longer apply.
  virtual Status deleteStale(const StaleScope& scope) = 0;
};

// Which store `--store` names, with its `--store-path` / `--store-url`.
struct StoreOptions {
  std::string kind = "kubernetes";  // kubernetes | memory | sqlite | postgres
  std::string path;                 // sqlite: the database file
  std::string url;                  // postgres: a libpq connection URI or key=value string
};

// The store `options` names; `client` is used by the kubernetes store only.
Result<std::unique_ptr<ReportStore>> openStore(const StoreOptions& options,
                                               std::shared_ptr<kube::Client> client);

}  // namespace kw::reports
