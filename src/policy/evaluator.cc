#include "policy/evaluator.h"

#include <fmt/format.h>

#include "common/sha256.h"
#include "wapc/wapc_host.h"

namespace kw::policy {
namespace {

// Upstream wraps every waPC failure, guest-reported or not, as a guest call failure.
std::string guestCallFailure(std::string_view detail) {
  return fmt::format("Guest call failure: {}", detail);
}

std::string describe(const wasm::CallError& e) {
  switch (e.kind) {
    case wasm::FailKind::Timeout: return guestCallFailure(e.message);
    case wasm::FailKind::Trap: return guestCallFailure("wasm trap: " + e.message);
    case wasm::FailKind::Exit:
      return guestCallFailure(fmt::format("guest exited with code {}", e.exit_code));
    case wasm::FailKind::Instantiate: return "WebAssembly failure: " + e.message;
    default: return guestCallFailure(e.message);
  }
}

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
    : engine_(std::move(engine)), dispatcher_(dispatcher), timeout_(timeout) {}

std::chrono::steady_clock::time_point Evaluator::deadline() const {
  if (!timeout_) return std::chrono::steady_clock::time_point::max();
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(*timeout_);
}

Result<std::string> Evaluator::invokeWapc(const PolicyConfig& policy, std::string_view operation,
                                          std::string_view payload, Session* reuse) const {
  auto when = deadline();
  std::unique_ptr<wapc::WapcInstance> fresh;
  wapc::WapcInstance* instance = reuse ? reuse->instance_.get() : nullptr;
  if (!instance) {
    auto created = wapc::WapcInstance::create(
        *engine_, policy.module->compiled, {dispatcher_, policy.id, nullptr, when});
    if (auto* err = std::get_if<wasm::CallError>(&created)) return makeError(describe(*err));
    fresh = std::move(std::get<std::unique_ptr<wapc::WapcInstance>>(created));
    instance = fresh.get();
  }
  auto r = instance->call(operation, payload, when);
  if (auto* err = std::get_if<wasm::CallError>(&r)) return makeError(describe(*err));
  auto& out = std::get<wapc::GuestCallResult>(r);
  if (!out.ok) return makeError(guestCallFailure(out.error));
  return std::move(out.response);
}

admission::OrderedJson Evaluator::validate(const PolicyConfig& policy, const Request& request,
                                           Session* reuse) const {
  if (policy.mode != ExecutionMode::KubewardenWapc) {
    return admission::rejectInternalServerError(request.uid, modeNotSupported(policy.mode));
  }
  // The payload is assembled from the texts we already hold: no DOM on the hot path.
  std::string payload;
  payload.reserve(request.json.size() + policy.settings_json.size() + 32);
  payload.append("{\"request\":").append(request.json);
  payload.append(",\"settings\":").append(policy.settings_json).append("}");
  auto reply = invokeWapc(policy, "validate", payload, reuse);
  if (!reply) return admission::rejectInternalServerError(request.uid, reply.error().message);
  auto verdict = admission::parseValidationResponse(*reply);
  if (!verdict) return admission::rejectInternalServerError(request.uid, verdict.error().message);

  const admission::Json* base = nullptr;
  admission::Json parsed;
  if (verdict->mutated_object) {
    if (!request.parsed) {
      parsed = admission::Json::parse(request.json, nullptr, false);
      base = &parsed;
    } else {
      base = request.parsed;
    }
    if (!policy.raw && base) {
      auto it = base->find("object");
      base = it == base->end() ? nullptr : &*it;
    }
  }
  return admission::toAdmissionResponse(request.uid, *verdict, base);
}

SettingsValidation Evaluator::validateSettings(const PolicyConfig& policy) const {
  if (policy.mode != ExecutionMode::KubewardenWapc) {
    return {false, modeNotSupported(policy.mode)};
  }
  auto reply = invokeWapc(policy, "validate_settings", policy.settings_json, nullptr);
  if (!reply) {
    return {false, "Error invoking settings validation callback: " + reply.error().message};
  }
  auto j = admission::Json::parse(*reply, nullptr, false);
  auto valid = j.is_object() ? j.find("valid") : j.end();
  if (!j.is_object() || valid == j.end() || !valid->is_boolean()) {
    return {false, "error: the policy's settings validation response is not valid JSON: " +
                       *reply};
  }
  SettingsValidation out{valid->get<bool>(), std::nullopt};
  auto msg = j.find("message");
  if (msg != j.end() && msg->is_string()) out.message = msg->get<std::string>();
  return out;
}

Result<std::string> Evaluator::protocolVersion(const PolicyConfig& policy) const {
  auto reply = invokeWapc(policy, "protocol_version", "", nullptr);
  if (!reply) return reply.error();
  auto j = admission::Json::parse(*reply, nullptr, false);
  if (!j.is_string()) return makeError("protocol_version answered something other than a string");
  return j.get<std::string>();
}

Result<Session> Evaluator::openSession(const PolicyConfig& policy) const {
  auto created = wapc::WapcInstance::create(
      *engine_, policy.module->compiled, {dispatcher_, policy.id, nullptr,
                                          std::chrono::steady_clock::time_point::max()});
  if (auto* err = std::get_if<wasm::CallError>(&created)) return makeError(describe(*err));
  Session s;
  s.instance_ = std::move(std::get<std::unique_ptr<wapc::WapcInstance>>(created));
  return s;
}

}  // namespace kw::policy
