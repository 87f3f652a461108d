// The host-capability dispatcher used until the full capability set exists: it implements
// kubewarden/tracing/log (TinyGo policies log through it) and answers every other capability
// with a clear "not available" error.
#pragma once

#include "kw/host/dispatcher.h"

namespace kw::host {

class DefaultDispatcher : public Dispatcher {
 public:
  Result<std::string> dispatch(const HostCall& call) override;
};

// Re-emits a kubewarden/tracing/log payload through our logger. Errors name what is wrong.
Status emitPolicyLog(std::string_view policy_id, std::string_view payload);

}  // namespace kw::host
