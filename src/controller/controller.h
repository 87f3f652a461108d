// The controller (spec §4.3–4.5): informers on everything it reads, one work queue per
// reconciler (PolicyServers, ClusterAdmissionPolicies, AdmissionPolicies), and workers that
// reconcile one key at a time. Watch events map to keys (a webhook configuration to its policy,
// a Pod or ReplicaSet to the policies of its PolicyServer, …), so the controller reacts within a
// watch event's latency and sends nothing while the cluster is steady.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "certs/certs.h"
#include "common/result.h"
#include "controller/informer.h"
#include "controller/metrics.h"
#include "controller/names.h"
#include "controller/options.h"
#include "controller/work_queue.h"
#include "controller/writer.h"
#include "kube/client.h"

namespace kw::controller {

// What one reconcile asks of its queue.
struct ReconcileResult {
  std::optional<std::chrono::milliseconds> requeue_after;  // come back then (not an error)
  std::string error;                                       // non-empty: retry with backoff
};

struct ControllerTuning {
  int policy_workers = 2;
  std::chrono::milliseconds unreachable_requeue{2000};  // upstream's RequeueAfter 2 s
  QueueBackoff backoff;
  // Only PolicyServers and policies with these labels (a label selector; empty: all). Lets
  // several controllers share one API server in tests, each with its own objects.
  std::string label_selector;
};

class Controller {
 public:
  using Tuning = ControllerTuning;

  Controller(std::shared_ptr<kube::Client> client, ControllerOptions options,
             ControllerMetrics& metrics, Tuning tuning);
  Controller(std::shared_ptr<kube::Client> client, ControllerOptions options,
             ControllerMetrics& metrics)
      : Controller(std::move(client), std::move(options), metrics, Tuning{}) {}
  ~Controller();

  // Resolves the CRDs, starts the informers, waits for their first lists, starts the workers.
  Status start(std::chrono::milliseconds sync_timeout);
  // Stops the workers (each finishes its current key) and the informers.
  void stop();
  bool synced() const { return synced_.load(); }

  ReconcileResult reconcilePolicyServer(const std::string& name);
  ReconcileResult reconcilePolicy(PolicyKind kind, const std::string& ns,
                                  const std::string& name);

 private:
  struct Types {
    kube::ResourceType policy_server, cluster_policy, admission_policy;
  };
  Status resolveTypes();
  void makeInformers();
  void wireHandlers();
  void worker(WorkQueue& queue, const std::string& controller,
              const std::function<ReconcileResult(const std::string&)>& reconcile);

  // Event mapping.
  void enqueuePoliciesOf(const std::string& policy_server);
  void enqueueAllPolicyServers();
  void indexPolicy(PolicyKind kind, const nlohmann::json& old, const nlohmann::json& now);
  std::vector<nlohmann::json> boundPolicies(const std::string& policy_server);
  WorkQueue& queueOf(PolicyKind kind) {
    return kind == PolicyKind::kCluster ? cap_queue_ : ap_queue_;
  }
  Informer& informerOf(PolicyKind kind) {
    return kind == PolicyKind::kCluster ? *cluster_policies_ : *admission_policies_;
  }
  const kube::ResourceType& typeOf(PolicyKind kind) const {
    return kind == PolicyKind::kCluster ? types_.cluster_policy : types_.admission_policy;
  }

  // Reads: the informer's copy, or what our own last write returned when that is newer
  // (the watch event may not have arrived yet), so back-to-back reconciles never act on a
  // stale cache (no create-then-409).
  std::optional<nlohmann::json> current(Informer& informer, std::string_view ns,
                                        std::string_view name);
  void remember(const kube::ResourceType& type, const nlohmann::json& stored);
  void forget(const kube::ResourceType& type, std::string_view ns, std::string_view name);
  Result<nlohmann::json> ensure(Informer& informer, const nlohmann::json& desired);
  // The object as stored afterwards (patched, or unchanged when the finalizer was there).
  Result<nlohmann::json> ensureFinalizer(const kube::ResourceType& type,
                                         const nlohmann::json& object);
  Status removeFinalizer(const kube::ResourceType& type, const nlohmann::json& object);
  Status writeStatus(const kube::ResourceType& type, nlohmann::json object,
                     const nlohmann::json& status);

  // PolicyServer steps.
  Result<certs::CertificateAuthority> ensureRootCa();
  Status ensureServingSecret(const nlohmann::json& policy_server,
                             const certs::CertificateAuthority& ca);
  ReconcileResult reconcilePolicyServerDeletion(const nlohmann::json& policy_server,
                                                const std::vector<nlohmann::json>& policies);
  ReconcileResult reconcilePolicyDeletion(PolicyKind kind, const nlohmann::json& policy);
  Result<std::string> rootCaPem();

  std::shared_ptr<kube::Client> client_;
  ControllerOptions options_;
  ControllerMetrics& metrics_;
  Tuning tuning_;
  Writer writer_;
  Types types_;

  std::unique_ptr<Informer> policy_servers_, cluster_policies_, admission_policies_;
  std::unique_ptr<Informer> validating_, mutating_;
  std::unique_ptr<Informer> secrets_, config_maps_, deployments_, replica_sets_, pods_, services_,
      pdbs_;
  std::vector<Informer*> informers_;

  WorkQueue ps_queue_, cap_queue_, ap_queue_;
  std::vector<std::thread> workers_;
  std::atomic<bool> synced_{false};

  std::mutex index_mu_;
  // PolicyServer name → queue keys of the policies naming it (both kinds).
  std::map<std::string, std::set<std::pair<PolicyKind, std::string>>> by_policy_server_;

  std::mutex written_mu_;
  std::map<std::tuple<std::string, std::string, std::string>, nlohmann::json> written_;
};

}  // namespace kw::controller
