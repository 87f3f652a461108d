// One audit scan (spec §5.2): the auditable policies, the resources they cover in each
// namespace and cluster-wide, one /audit request per (resource, policy) unless the previous
// result still holds, and the reports written through the store as one run.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/discovery.h"
#include "audit/endpoints.h"
#include "audit/http_client.h"
#include "audit/options.h"
#include "audit/policy.h"
#include "audit/reuse.h"
#include "audit/work_pool.h"
#include "common/result.h"
#include "kube/client.h"
#include "reports/store.h"

namespace kw::audit {

struct ScanSummary {
  std::string run_uid;
  int64_t namespaces = 0;
  int64_t resources = 0;    // objects listed and checked by at least one policy
  int64_t evaluations = 0;  // /audit requests sent
  int64_t reused = 0;       // results taken over from the previous scan
  int64_t pass = 0, fail = 0, error = 0, skipped_policies = 0;
  int64_t reports = 0;        // reports written
  int64_t failed_scopes = 0;  // namespaces (or the cluster scope) that could not be scanned
  int64_t elapsed_ms = 0;
  std::string line() const;  // the one-line summary the binary prints
};

class Scanner {
 public:
  Scanner(ScanOptions options, std::shared_ptr<kube::Client> client, reports::ReportStore& store,
          PolicyServerClient& http);
  // The whole scan as one store run. Errors are fatal ones (policies unreadable, the store
  // failing); a policy-server that does not answer gives `error` results instead.
  Result<ScanSummary> run();

 private:
  struct Scope;  // what one report scope (a namespace or the cluster) is audited with
  Status loadPolicies();
  Result<std::vector<nlohmann::json>> listAll(const std::string& path);
  Status scanCluster();
  Status scanNamespaces();
  Status scanNamespace(const nlohmann::json& ns_object);
  Status auditScope(Scope& scope);
  Status auditGvr(Scope& scope, const Gvr& gvr, const std::vector<const AuditPolicy*>& policies);
  reports::ReportResult evaluate(const AuditPolicy& policy, const reports::ObjectRef& subject,
                                 const std::string& review);
  Result<std::shared_ptr<TargetSet>> targetsFor(const std::string& policy_server);
  Status save(Scope& scope);
  Status saveReport(const reports::PolicyReport& report, bool ns_report);
  void countResult(reports::Outcome outcome);

  ScanOptions options_;
  std::shared_ptr<kube::Client> client_;
  // Used from every namespace thread: the stores lock what they share themselves (the
  // Kubernetes one only its run slot, so its HTTP writes overlap).
  reports::ReportStore& store_;
  PolicyServerClient& http_;
  Discovery discovery_;
  WorkPool pool_;
  std::vector<AuditPolicy> cluster_policies_;
  std::vector<AuditPolicy> ns_policies_;
  std::mutex targets_mu_;
  std::map<std::string, Result<std::shared_ptr<TargetSet>>> targets_;
  std::mutex out_mu_;
  std::string run_uid_;
  struct Counters {
    std::atomic<int64_t> namespaces{0}, resources{0}, evaluations{0}, reused{0}, pass{0}, fail{0},
        error{0}, skipped_policies{0}, reports{0}, failed_scopes{0};
  } counters_;
};

// A random version-4 UUID: the run's id.
std::string newRunUid();

}  // namespace kw::audit
