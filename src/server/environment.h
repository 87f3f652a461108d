// Everything the API needs to evaluate, built once at boot (spec §1.2 steps 5-9): every
// policy's module fetched, compiled once per distinct module (by sha256: N policy ids on one
// module share one PolicyModule), checked against our Kubewarden version, and every policy's
// settings validated on the worker threads. Immutable afterwards, so shared by all threads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "kw/host/dispatcher.h"
#include "kw/wasm/engine.h"
#include "policy/evaluator.h"
#include "server/config.h"
#include "server/policies_file.h"
#include "server/worker_pool.h"

namespace kw::server {

// One policy id as the server runs it.
struct EnvironmentPolicy {
  std::string id;
  PolicyMode mode = PolicyMode::Protect;
  bool allowed_to_mutate = false;
  std::set<policy::ContextAwareResource> context_aware_resources;
  bool raw_policy = false;  // metadata policyType: raw
  // The evaluator's view for each endpoint kind: the request shape (and so a mutation's diff
  // base: request.object, or the whole raw request) is decided by the endpoint, not the
  // metadata, as upstream does. Both share the module and the settings text.
  policy::PolicyConfig admission;  // /validate, /audit (raw = false)
  policy::PolicyConfig raw;        // /validate_raw (raw = true)

  const policy::PolicyConfig& forRequest(bool raw_request) const {
    return raw_request ? raw : admission;
  }
};

struct EnvironmentOptions {
  std::shared_ptr<wasm::Engine> engine;          // null: config.engine, Optimized, 256 MiB cap
  std::shared_ptr<host::Dispatcher> dispatcher;  // null: host::DefaultDispatcher
  Fetcher fetcher;  // null: makePolicyFetcher from the config (download dir, sources, auth)
};

class EvaluationEnvironment {
 public:
  // Builds and validates everything; the first problem found is the error, e.g.
  // "[psp] settings are not valid: <message>". Compilation and settings validation run on
  // `pool` (so each worker's isolate is warm); must not be called from a pool thread.
  static Result<std::unique_ptr<EvaluationEnvironment>> create(const ServerConfig& config,
                                                               const PolicyMap& policies,
                                                               WorkerPool& pool,
                                                               EnvironmentOptions options = {});

  // Null for an unknown id.
  const EnvironmentPolicy* find(std::string_view id) const;
  const policy::Evaluator& evaluator() const { return *evaluator_; }
  size_t policyCount() const { return policies_.size(); }
  size_t distinctModules() const { return modules_.size(); }
  const std::map<std::string, EnvironmentPolicy, std::less<>>& policies() const {
    return policies_;
  }

 private:
  EvaluationEnvironment() = default;
  // Every policy's settings on the pool; all failures, one per line, in id order.
  Status validateAllSettings(WorkerPool& pool) const;

  std::shared_ptr<wasm::Engine> engine_;
  std::shared_ptr<host::Dispatcher> dispatcher_;
  std::unique_ptr<policy::Evaluator> evaluator_;
  std::map<std::string, policy::PolicyModulePtr> modules_;  // by digest
  std::map<std::string, EnvironmentPolicy, std::less<>> policies_;
};

// §1.2 step 6: a module whose metadata asks for a newer Kubewarden (major.minor) than
// kKubewardenVersion is refused: "Policy required Kubewarden version X but is running on Y".
Status checkMinimumVersion(const policy::PolicyModule& module);

}  // namespace kw::server
