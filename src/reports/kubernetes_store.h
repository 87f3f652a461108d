// The default store (`--store kubernetes`): PolicyReport and ClusterPolicyReport objects
// (wgpolicyk8s.io/v1alpha2) through the API server, with src/kube's client. The CRDs come from
// charts/kubewarden-crds/templates/{policyreports,clusterpolicyreports}.yaml.
//
// A save reads the stored object and writes our labels, owners, scope, summary and results into
// it (other labels, annotations and fields stay). When someone else wrote it in between, the
// API answers 409 and the save starts over from a fresh read, a bounded number of times.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "kube/client.h"
#include "reports/run_slot.h"
#include "reports/store.h"

namespace kw::reports {

class KubernetesStore : public ReportStore {
 public:
  struct Options {
    int max_attempts = 5;
    // Called between the read and the write of a save (attempt 1, 2, ...); tests use it to make
    // a concurrent writer win the race.
    std::function<void(const std::string& ns, const std::string& name, int attempt)> before_write;
  };

  explicit KubernetesStore(std::shared_ptr<kube::Client> client, Options options);
  explicit KubernetesStore(std::shared_ptr<kube::Client> client)
      : KubernetesStore(std::move(client), Options()) {}

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

 private:
  Result<std::optional<PolicyReport>> get(const std::string& ns, const std::string& name);
  Status save(PolicyReport report);
  // Deletes the reports a list URL returns (following `continue`), tolerating 404s.
  Status deleteListed(const std::string& list_path, bool cluster);
  std::string currentRun();
  void remember(const std::string& path, PolicyReport report);
  bool unchangedSinceRead(const std::string& path, const PolicyReport& next);

  std::shared_ptr<kube::Client> client_;
  Options options_;
  std::mutex mu_;
  RunSlot run_;
  // What the scanner read, until it saves the same report: a save that would change nothing is
  // skipped (an unchanged cluster costs reads only, no 1 MB PUTs).
  std::map<std::string, PolicyReport> read_;
  // The reports this run saved or found unchanged; deleteStale removes the other ones.
  std::set<std::string> touched_;
};

// The API paths of a report: `ns` empty means a ClusterPolicyReport.
std::string reportCollectionPath(const std::string& ns, bool cluster);
std::string reportPath(const std::string& ns, const std::string& name);

}  // namespace kw::reports
