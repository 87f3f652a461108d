#include "policy/wapc_runtime.h"

#include <fmt/format.h>

#include "policy/evaluator.h"
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

}  // namespace

std::string validationPayload(std::string_view request_json, std::string_view settings_json) {
  std::string payload;
  payload.reserve(request_json.size() + settings_json.size() + 32);
  payload.append("{\"request\":").append(request_json);
  payload.append(",\"settings\":").append(settings_json).append("}");
  return payload;
}

Result<admission::OrderedJson> admissionFromValidation(std::string_view reply,
                                                       const PolicyConfig& policy,
                                                       const Request& request) {
  auto verdict = admission::parseValidationResponse(reply);
  if (!verdict) return verdict.error();
  const admission::Json* base = nullptr;
  admission::Json parsed;
  if (verdict->mutated_object) {
    if (!request.parsed) parsed = admission::Json::parse(request.json, nullptr, false);
    base = request.parsed ? request.parsed : &parsed;
    if (!policy.raw && base->is_object()) {
      auto it = base->find("object");
      base = it == base->end() ? nullptr : &*it;
    }
  }
  return admission::toAdmissionResponse(request.uid, *verdict, base);
}

SettingsValidation settingsFromReply(std::string_view reply) {
  auto j = admission::Json::parse(reply, nullptr, false);
  auto valid = j.is_object() ? j.find("valid") : j.end();
  if (!j.is_object() || valid == j.end() || !valid->is_boolean()) {
    return {false, "error: the policy's settings validation response is not valid: " +
                       std::string(reply)};
  }
  SettingsValidation out{valid->get<bool>(), std::nullopt};
  auto msg = j.find("message");
  if (msg != j.end() && msg->is_string()) out.message = msg->get<std::string>();
  return out;
}

Result<std::unique_ptr<wapc::WapcInstance>> WapcRuntime::newInstance(
    const PolicyConfig& policy, const Invocation& call) const {
  auto created = wapc::WapcInstance::create(call.engine, policy.module->compiled,
                                            {call.dispatcher, policy.id, nullptr, call.deadline});
  if (auto* err = std::get_if<wasm::CallError>(&created)) return makeError(describe(*err));
  return std::move(std::get<std::unique_ptr<wapc::WapcInstance>>(created));
}

Result<std::string> WapcRuntime::invoke(wapc::WapcInstance* reuse, const PolicyConfig& policy,
                                        std::string_view operation, std::string_view payload,
                                        const Invocation& call) const {
  std::unique_ptr<wapc::WapcInstance> fresh;
  if (!reuse) {
    auto created = newInstance(policy, call);
    if (!created) return created.error();
    fresh = std::move(*created);
    reuse = fresh.get();
  }
  auto r = reuse->call(operation, payload, call.deadline);
  if (auto* err = std::get_if<wasm::CallError>(&r)) return makeError(describe(*err));
  auto& out = std::get<wapc::GuestCallResult>(r);
  if (!out.ok) return makeError(guestCallFailure(out.error));
  return std::move(out.response);
}

Result<admission::OrderedJson> WapcRuntime::validateOn(wapc::WapcInstance* reuse,
                                                       const PolicyConfig& policy,
                                                       const Request& request,
                                                       const Invocation& call) const {
  auto reply = invoke(reuse, policy, "validate",
                      validationPayload(request.json, policy.settings_json), call);
  if (!reply) return reply.error();
  return admissionFromValidation(*reply, policy, request);
}

Result<admission::OrderedJson> WapcRuntime::validate(const PolicyConfig& policy,
                                                     const Request& request,
                                                     const Invocation& call) const {
  return validateOn(nullptr, policy, request, call);
}

SettingsValidation WapcRuntime::validateSettings(const PolicyConfig& policy,
                                                 const Invocation& call) const {
  auto reply = invoke(nullptr, policy, "validate_settings", policy.settings_json, call);
  if (!reply) {
    return {false, "Error invoking settings validation callback: " + reply.error().message};
  }
  return settingsFromReply(*reply);
}

Result<std::string> WapcRuntime::protocolVersion(const PolicyConfig& policy,
                                                 const Invocation& call) const {
  auto reply = invoke(nullptr, policy, "protocol_version", "", call);
  if (!reply) return reply.error();
  auto j = admission::Json::parse(*reply, nullptr, false);
  if (!j.is_string()) return makeError("protocol_version answered something other than a string");
  return j.get<std::string>();
}

}  // namespace kw::policy
