// The side of the host that answers typed requests (upstream's CallbackHandler): the live one
// talks to Kubernetes, registries, DNS and sigstore; the recording and replaying ones (see
// session.h) wrap or replace it for `kwctl run`. Payload parsing, the allow-list and the
// synchronous capabilities (tracing/log, crypto) stay in the dispatcher, so they are neither
// recorded nor replayed, as upstream.
#pragma once

#include <string>

#include "common/result.h"
#include "host/callback_request.h"

namespace kw::host {

class CallbackHandler {
 public:
  virtual ~CallbackHandler() = default;
  // The reply payload, or the error the guest sees (after "Callback evaluation failure: ").
  virtual Result<std::string> handle(const CallbackRequest& request) = 0;
  // True when answering may wait on the network: the dispatcher then runs handle() on its
  // pool and stops waiting at the guest's deadline. Thread-safe.
  virtual bool mayBlock(const CallbackRequest& request) const {
    (void)request;
    return false;
  }
};

}  // namespace kw::host
