// One runtime per execution mode (kubewarden-wapc, wasi, opa, gatekeeper). The Evaluator picks
// the runtime from the policy's mode; a runtime turns a request into an AdmissionResponse on a
// fresh instance of the policy's module. Runtimes are stateless or internally synchronised:
// one runtime object serves every thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "admission/admission_response.h"
#include "kw/host/dispatcher.h"
#include "kw/wasm/engine.h"
#include "policy/metadata.h"

namespace kw::policy {

struct PolicyModule;
struct PolicyConfig;
struct Request;
struct SettingsValidation;

// What a runtime needs from the evaluator for one call.
struct Invocation {
  wasm::Engine& engine;
  host::Dispatcher* dispatcher;  // may be null: host calls then fail with "not available"
  std::chrono::steady_clock::time_point deadline;
};

class ModeRuntime {
 public:
  virtual ~ModeRuntime() = default;
  // The AdmissionResponse (uid set). An Error becomes a 500 rejection "internal server error:
  // <message>" in the evaluator, so messages must read well after that prefix.
  virtual Result<admission::OrderedJson> validate(const PolicyConfig& policy,
                                                  const Request& request,
                                                  const Invocation& call) const = 0;
  virtual SettingsValidation validateSettings(const PolicyConfig& policy,
                                              const Invocation& call) const = 0;
};

}  // namespace kw::policy
