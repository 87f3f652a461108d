// The in-memory store (1.10's `--store memory`): nothing persisted, for `--output-scan` and
// tests. Thread-safe, since the scanner saves from several workers.
#pragma once

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "reports/run_slot.h"
#include "reports/store.h"

namespace kw::reports {

class MemoryStore : public ReportStore {
 public:
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

  // Every stored report, PolicyReports first (namespace, name order).
  std::vector<PolicyReport> all() const;

 private:
  using Key = std::pair<std::string, std::string>;  // (namespace, name); "" for cluster reports
  Result<std::optional<PolicyReport>> get(const Key& key);
  Status put(PolicyReport report);

  mutable std::mutex mu_;
  std::map<Key, PolicyReport> namespaced_;
  std::map<Key, PolicyReport> cluster_;
  RunSlot run_;
};

}  // namespace kw::reports
