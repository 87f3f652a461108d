// The one host-capability dispatcher (upstream's `host_callback`): decodes the guest's payload
// for (binding, namespace, operation), enforces the policy's contextAwareResources allow-list
// on Kubernetes reads, answers tracing/log and crypto on the calling thread and hands every
// other request, typed, to a CallbackHandler (live, recording or replaying). Requests that may
// wait on the network run on a shared pool; the guest waits only until its deadline.
//
// Shared by every worker thread: the allow-lists sit behind a shared mutex written only at
// set-up, and no lock is held while a capability runs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>

#include "host/callback_handler.h"
#include "host/rego_context.h"
#include "host/task_pool.h"
#include "kube/resource_reader.h"
#include "kw/host/dispatcher.h"

namespace kw::host {

struct DispatcherOptions {
  std::shared_ptr<CallbackHandler> handler;  // required
  std::shared_ptr<TaskPool> pool;            // null: blocking requests run on the guest thread
  kube::ResourceReader* reader = nullptr;    // what the Rego context is built from
  std::shared_ptr<const void> keep_alive;    // owns `reader` when the dispatcher should
  RegoContextOptions rego;
  // Build the Rego context through `handler` (typed list requests) instead of `reader`, rebuilt
  // on every evaluation: what recording and replaying sessions need.
  bool rego_via_handler = false;
  // For crypto's validity checks; tests pin it.
  std::function<std::chrono::system_clock::time_point()> wall_clock = [] {
    return std::chrono::system_clock::now();
  };
};

class CapabilityDispatcher : public Dispatcher {
 public:
  explicit CapabilityDispatcher(DispatcherOptions options);

  // The Kubernetes types `policy_id` may read (its contextAwareResources). Unknown policies may
  // read none.
  void allowResources(const std::string& policy_id, std::set<kube::ResourceKey> resources);
  std::set<kube::ResourceKey> allowedResources(std::string_view policy_id) const;

  Result<std::string> dispatch(const HostCall& call) override;
  Result<std::shared_ptr<const std::string>> regoContext(std::string_view policy_id,
                                                         RegoLayout layout) override;

 private:
  Result<std::string> kubewarden(const HostCall& call);
  Result<std::string> kubernetesRead(const HostCall& call);
  Result<std::string> deprecatedClusterContext(const HostCall& call);
  // Sends a typed request to the handler, on the pool when it may block.
  Result<std::string> forward(const CallbackRequest& request, const HostCall& call);
  bool allowed(std::string_view policy_id, const kube::ResourceKey& key) const;

  DispatcherOptions options_;
  std::unique_ptr<HandlerReader> handler_reader_;
  std::unique_ptr<RegoContextCache> rego_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::set<kube::ResourceKey>, std::less<>> allowed_;
};

// A shared pool sized for a few concurrent network waits.
std::shared_ptr<TaskPool> makeHostPool();

}  // namespace kw::host
