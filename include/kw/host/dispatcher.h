// The host-capability dispatcher seam. waPC's __host_call, WASI's host.call and the Rego
// context all go through one implementation of this interface, keyed by
// (binding, namespace, operation) as in Kubewarden.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw::host {

struct HostCall {
  std::string_view policy_id;
  std::string_view binding;
  std::string_view ns;
  std::string_view operation;
  std::string_view payload;
  // The evaluation's deadline: a capability that would wait past it is abandoned and the
  // guest gets an error instead of hanging.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// How a Rego policy sees the cluster (spec §2.6).
enum class RegoLayout {
  Opa,         // the value of data.kubernetes: <plural>.<namespace>.<name> / <plural>.<name>
  Gatekeeper,  // the value of data.inventory: cluster.<gv>.<Kind>.<name>, namespace.<ns>.…
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // The reply payload, or an error whose message is handed to the guest.
  virtual Result<std::string> dispatch(const HostCall& call) = 0;
  // The JSON text of the Kubernetes context a Rego policy evaluates against, or null when the
  // policy may read no Kubernetes resources. The same pointer comes back while the underlying
  // objects are unchanged, so callers may cache what they derive from it by identity.
  virtual Result<std::shared_ptr<const std::string>> regoContext(std::string_view policy_id,
                                                                 RegoLayout layout) {
    (void)policy_id;
    (void)layout;
    return std::shared_ptr<const std::string>();
  }
};

}  // namespace kw::host
