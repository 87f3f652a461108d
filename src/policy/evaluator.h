// Evaluates Kubewarden policies. A PolicyModule is one compiled wasm module with its metadata,
// shared by every policy id that uses it; a PolicyConfig is one policy id's view of a module
// (settings, mode). Every evaluation runs on a fresh instance unless a Session is passed,
// which `kwctl bench --reuse-instance` uses for comparison.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "admission/admission_response.h"
#include "kw/host/dispatcher.h"
#include "kw/wasm/engine.h"
#include "policy/metadata.h"
#include "policy/mode_runtime.h"

namespace kw::wapc {
class WapcInstance;
}

namespace kw::policy {

class WapcRuntime;

struct PolicyModule {
  std::string digest;  // sha256 of the module as given (before any rewriting)
  wasm::CompiledModulePtr compiled;
  std::optional<Metadata> metadata;
};
using PolicyModulePtr = std::shared_ptr<const PolicyModule>;

// Reads metadata, compiles (with the engine's memory cap) and fingerprints a module.
Result<PolicyModulePtr> loadModule(wasm::Engine& engine, std::span<const uint8_t> bytes);

struct PolicyConfig {
  std::string id;
  PolicyModulePtr module;
  ExecutionMode mode = ExecutionMode::KubewardenWapc;
  bool raw = false;                  // policyType: raw (or --raw)
  std::string settings_json = "{}";  // a JSON object, serialised once
};

struct Request {
  std::string_view json;  // AdmissionRequest JSON, or any JSON for raw policies
  std::string uid;
  // Optional DOM of the same JSON; parsed on demand (only mutations need it) when absent.
  const admission::Json* parsed = nullptr;
  // The caller's own deadline (a server's: the request's arrival plus the timeout, so time
  // spent queueing counts). The evaluation stops at the earlier of this and now + timeout.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct SettingsValidation {
  bool valid = false;
  std::optional<std::string> message;
};

// One reused guest instance, for measuring what a fresh instance costs.
class Session {
 public:
  ~Session();
  Session(Session&&) noexcept;

 private:
  friend class Evaluator;
  Session();
  std::unique_ptr<wapc::WapcInstance> instance_;
};

class Evaluator {
 public:
  // timeout: per evaluation (instantiation included); nullopt disables the deadline.
  Evaluator(std::shared_ptr<wasm::Engine> engine, host::Dispatcher* dispatcher,
            std::optional<std::chrono::nanoseconds> timeout);

  // Never fails: runtime errors become a 500 rejection, as upstream.
  admission::OrderedJson validate(const PolicyConfig& policy, const Request& request,
                                  Session* reuse = nullptr) const;
  SettingsValidation validateSettings(const PolicyConfig& policy) const;
  // The guest's answer to protocol_version (waPC only), e.g. "v1".
  Result<std::string> protocolVersion(const PolicyConfig& policy) const;
  Result<Session> openSession(const PolicyConfig& policy) const;

  wasm::Engine& engine() const { return *engine_; }
  // Installs (or replaces) the runtime for an execution mode.
  void setRuntime(ExecutionMode mode, std::shared_ptr<const ModeRuntime> runtime);

 private:
  Invocation invocation(std::chrono::steady_clock::time_point not_after =
                            std::chrono::steady_clock::time_point::max()) const;
  const ModeRuntime* runtimeFor(ExecutionMode mode) const;

  std::shared_ptr<wasm::Engine> engine_;
  std::shared_ptr<const WapcRuntime> wapc_;
  std::map<ExecutionMode, std::shared_ptr<const ModeRuntime>> runtimes_;
  host::Dispatcher* dispatcher_;
  std::optional<std::chrono::nanoseconds> timeout_;
};

}  // namespace kw::policy
