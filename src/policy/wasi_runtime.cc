#include "policy/wasi_runtime.h"

#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "policy/evaluator.h"
#include "policy/wapc_runtime.h"
#include "wasi/wasi_context.h"
#include "wasi/wasi_imports.h"

namespace kw::policy {
namespace {

using wasm::Caller;
using wasm::FailKind;
using wasm::Value;
using wasm::ValType;

constexpr char kProgramName[] = "policy.wasm";
constexpr char kNoStart[] = "cannot find `_start` function inside of module";
constexpr char kNoHostCapabilities[] = "host capabilities are not available";

// host.call's answer, as the Go and JS SDKs expect it (the reverse of waPC's __host_call).
constexpr int32_t kHostCallOk = 0;
constexpr int32_t kHostCallFailed = 1;

// Per-instance state: the instance's host data for one run.
struct WasiPolicyState {
  wasi::WasiContext wasi;
  host::Dispatcher* dispatcher = nullptr;
  std::string_view policy_id;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

WasiPolicyState& stateOf(Caller& c) { return *static_cast<WasiPolicyState*>(c.hostData()); }

wasi::WasiContext* wasiOf(void* host_data) {
  return &static_cast<WasiPolicyState*>(host_data)->wasi;
}

uint32_t u32(const Value& v) { return static_cast<uint32_t>(v.i32); }

Result<std::string> dispatch(const WasiPolicyState& s, const host::HostCall& call) {
  if (!s.dispatcher) return makeError(kNoHostCapabilities);
  return s.dispatcher->dispatch(call);
}

// host.call(bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, payload_ptr, payload_len) -> i32.
// The guest learns the outcome from the return value and then reads the reply (or the error
// text) from its stdin, so both go through the same in-memory pipe.
std::vector<Value> hostCall(Caller& c, std::span<const Value> a) {
  WasiPolicyState& s = stateOf(c);
  std::string binding, ns, op, payload;
  if (!c.read(u32(a[0]), u32(a[1]), binding) || !c.read(u32(a[2]), u32(a[3]), ns) ||
      !c.read(u32(a[4]), u32(a[5]), op) || !c.read(u32(a[6]), u32(a[7]), payload)) {
    c.fail(FailKind::HostError, "invalid guest memory access in host.call");
    return {Value::fromI32(kHostCallFailed)};
  }
  auto reply = dispatch(s, {s.policy_id, binding, ns, op, payload, s.deadline});
  if (!reply) {
    s.wasi.appendStdin(reply.error().message);
    return {Value::fromI32(kHostCallFailed)};
  }
  s.wasi.appendStdin(*reply);
  return {Value::fromI32(kHostCallOk)};
}


wasm::ImportSet buildImportSet() {
  wasm::ImportSet set;
  const auto I = ValType::I32;
  set.add({"host", "call", {{I, I, I, I, I, I, I, I}, {I}}, hostCall});
  wasi::addWasiImports(set, wasiOf);
  wasi::addWasiUnstableAliases(set);
  return set;
}

// proc_exit(0) unwinds the guest like any other exit, but it is how many programs succeed.
bool isCleanExit(const wasm::CallError& e) { return e.kind == FailKind::Exit && e.exit_code == 0; }

std::string failureDetail(const wasm::CallError& e) {
  switch (e.kind) {
    case FailKind::Trap: return "wasm trap: " + e.message;
    case FailKind::Exit: return fmt::format("Exited with i32 exit status {}", e.exit_code);
    default: return e.message;
  }
}

// Runs one action of the policy and returns its stdout, or Kubewarden's error text.
Result<std::string> runAction(const PolicyConfig& policy, std::string_view action,
                              std::string stdin_data, const Invocation& call) {
  WasiCommand cmd;
  cmd.argv = {kProgramName, std::string(action)};
  cmd.stdin_data = std::move(stdin_data);
  cmd.dispatcher = call.dispatcher;
  cmd.policy_id = policy.id;
  cmd.deadline = call.deadline;
  WasiRun run = runWasiCommand(call.engine, policy.module->compiled, cmd);
  if (run.failure) return makeError(describeWasiFailure(run));
  // Guests use stderr for diagnostics; upstream surfaces it as a warning, not a failure.
  std::string_view diagnostics = run.stderr_data;
  while (!diagnostics.empty() && std::isspace(static_cast<unsigned char>(diagnostics.back()))) {
    diagnostics.remove_suffix(1);
  }
  if (!diagnostics.empty()) {
    spdlog::warn("[{}] policy {} wrote to stderr: {}", policy.id, action, diagnostics);
  }
  return std::move(run.stdout_data);
}

}  // namespace

const wasm::ImportSet& wasiPolicyImports() {
  static const wasm::ImportSet set = buildImportSet();
  return set;
}

WasiRun runWasiCommand(wasm::Engine& engine, const wasm::CompiledModulePtr& module,
                       const WasiCommand& cmd) {
  WasiRun run;
  if (!module->hasExport("_start")) {
    run.failure = wasm::CallError{FailKind::NotFound, kNoStart};
    return run;
  }
  WasiPolicyState state;
  state.dispatcher = cmd.dispatcher;
  state.policy_id = cmd.policy_id;
  state.deadline = cmd.deadline;
  state.wasi.setArgs(cmd.argv);
  state.wasi.setStdin(cmd.stdin_data);

  wasm::InstanceOptions options;
  options.imports = &wasiPolicyImports();
  options.host_data = &state;
  options.deadline = cmd.deadline;
  auto instance = engine.instantiate(module, options);
  if (auto* err = std::get_if<wasm::CallError>(&instance)) {
    run.failure = *err;
  } else {
    auto r = std::get<wasm::InstancePtr>(instance)->call("_start", {}, cmd.deadline);
    auto* ended = std::get_if<wasm::CallError>(&r);
    if (ended && !isCleanExit(*ended)) run.failure = *ended;
  }
  run.stdout_data = state.wasi.takeStdout();
  run.stderr_data = state.wasi.takeStderr();
  return run;
}

std::string describeWasiFailure(const WasiRun& run) {
  if (!run.failure) return "";
  const wasm::CallError& e = *run.failure;
  switch (e.kind) {
    case FailKind::NotFound: return e.message;
    case FailKind::Instantiate: return "WebAssembly failure: " + e.message;
    default: break;
  }
  // Only an explicit exit has a status; traps and interruptions report None, like Rust's
  // Option in the upstream message.
  std::string code = e.kind == FailKind::Exit ? fmt::format("Some({})", e.exit_code) : "None";
  return fmt::format("program exited with code {}; stderr set to '{}', error: '{}'", code,
                     run.stderr_data, failureDetail(e));
}

Result<admission::OrderedJson> WasiRuntime::validate(const PolicyConfig& policy,
                                                     const Request& request,
                                                     const Invocation& call) const {
  auto reply = runAction(policy, "validate",
                         validationPayload(request.json, policy.settings_json), call);
  if (!reply) return reply.error();
  auto response = admissionFromValidation(*reply, policy, request);
  if (!response) {
    return makeError("Cannot deserialize policy validation response: " +
                     response.error().message);
  }
  return std::move(*response);
}

SettingsValidation WasiRuntime::validateSettings(const PolicyConfig& policy,
                                                 const Invocation& call) const {
  auto reply = runAction(policy, "validate-settings", policy.settings_json, call);
  if (!reply) return {false, reply.error().message};
  return settingsFromReply(*reply);
}

}  // namespace kw::policy
