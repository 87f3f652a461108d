#include "policy/evaluator.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/sha256.h"
#include "policy/rego_runtime.h"
#include "policy/wapc_runtime.h"
#include "policy/wasi_runtime.h"
#include "wapc/wapc_host.h"

namespace kw::policy {
namespace {

std::string modeNotSupported(ExecutionMode mode) {
  return fmt::format("execution mode `{}` is not supported by this build yet", toString(mode));
}

}  // namespace

Session::Session() = default;
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;

Result<PolicyModulePtr> loadModule(wasm::Engine& engine, std::span<const uint8_t> bytes) {
  auto metadata = readMetadata(bytes);
  if (!metadata) return metadata.error();
  auto compiled = engine.compile(bytes);
  if (!compiled) return compiled.error();
  auto m = std::make_shared<PolicyModule>();
  m->digest = sha256Hex(bytes);
  m->compiled = std::move(*compiled);
  m->metadata = std::move(*metadata);
  return PolicyModulePtr(std::move(m));
}

Evaluator::Evaluator(std::shared_ptr<wasm::Engine> engine, host::Dispatcher* dispatcher,
                     std::optional<std::chrono::nanoseconds> timeout)
    : engine_(std::move(engine)),
      wapc_(std::make_shared<WapcRuntime>()),
      dispatcher_(dispatcher),
      timeout_(timeout) {
  runtimes_[ExecutionMode::KubewardenWapc] = wapc_;
  runtimes_[ExecutionMode::Wasi] = std::make_shared<WasiRuntime>();
  runtimes_[ExecutionMode::Opa] = std::make_shared<OpaRuntime>();
  runtimes_[ExecutionMode::Gatekeeper] = std::make_shared<GatekeeperRuntime>();
}

void Evaluator::setRuntime(ExecutionMode mode, std::shared_ptr<const ModeRuntime> runtime) {
  runtimes_[mode] = std::move(runtime);
}

const ModeRuntime* Evaluator::runtimeFor(ExecutionMode mode) const {
  auto it = runtimes_.find(mode);
  return it == runtimes_.end() ? nullptr : it->second.get();
}

Invocation Evaluator::invocation(std::chrono::steady_clock::time_point not_after) const {
  auto deadline = std::chrono::steady_clock::time_point::max();
  if (timeout_) {
    deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(*timeout_);
  }
  return Invocation{*engine_, dispatcher_, std::min(deadline, not_after)};
}

admission::OrderedJson Evaluator::validate(const PolicyConfig& policy, const Request& request,
                                           Session* reuse) const {
  Result<admission::OrderedJson> answer = makeError(modeNotSupported(policy.mode));
  if (reuse && policy.mode == ExecutionMode::KubewardenWapc) {
    answer =
        wapc_->validateOn(reuse->instance_.get(), policy, request, invocation(request.deadline));
  } else if (const ModeRuntime* runtime = runtimeFor(policy.mode)) {
    answer = runtime->validate(policy, request, invocation(request.deadline));
  }
  if (!answer) return admission::rejectInternalServerError(request.uid, answer.error().message);
  return std::move(*answer);
}

SettingsValidation Evaluator::validateSettings(const PolicyConfig& policy) const {
  const ModeRuntime* runtime = runtimeFor(policy.mode);
  if (!runtime) return {false, modeNotSupported(policy.mode)};
  return runtime->validateSettings(policy, invocation());
}

Result<std::string> Evaluator::protocolVersion(const PolicyConfig& policy) const {
  return wapc_->protocolVersion(policy, invocation());
}

Result<Session> Evaluator::openSession(const PolicyConfig& policy) const {
  if (policy.mode != ExecutionMode::KubewardenWapc) {
    return makeError("--reuse-instance is only available for waPC policies");
  }
  Invocation call{*engine_, dispatcher_, std::chrono::steady_clock::time_point::max()};
  auto instance = wapc_->newInstance(policy, call);
  if (!instance) return instance.error();
  Session s;
  s.instance_ = std::move(*instance);
  return s;
}

}  // namespace kw::policy
