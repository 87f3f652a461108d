// The host-capability dispatcher seam. waPC's __host_call, WASI's host.call and the Rego
// context all go through one implementation of this interface, keyed by
// (binding, namespace, operation) as in Kubewarden.
#pragma once

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
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // The reply payload, or an error whose message is handed to the guest.
  virtual Result<std::string> dispatch(const HostCall& call) = 0;
};

}  // namespace kw::host
