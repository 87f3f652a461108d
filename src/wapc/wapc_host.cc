#include "wapc/wapc_host.h"

#include <spdlog/spdlog.h>

#include "wasi/wasi_imports.h"

namespace kw::wapc {
namespace {

using wasm::Caller;
using wasm::FailKind;
using wasm::FuncType;
using wasm::Value;
using wasm::ValType;

WapcState& stateOf(Caller& c) { return *static_cast<WapcState*>(c.hostData()); }

wasi::WasiContext* wasiOf(void* host_data) { return &static_cast<WapcState*>(host_data)->wasi; }

uint32_t u32(const Value& v) { return static_cast<uint32_t>(v.i32); }

// A guest pointer that does not fit its memory ends the call with an error naming the import.
void badPointer(Caller& c, const char* fn) {
  c.fail(FailKind::HostError, std::string("invalid guest memory access in ") + fn);
}

std::vector<Value> guestRequest(Caller& c, std::span<const Value> a) {
  WapcState& s = stateOf(c);
  if (!c.write(u32(a[0]), s.operation) || !c.write(u32(a[1]), s.payload)) {
    badPointer(c, "__guest_request");
  }
  return {};
}

std::vector<Value> guestResponse(Caller& c, std::span<const Value> a) {
  if (!c.read(u32(a[0]), u32(a[1]), stateOf(c).guest_response)) badPointer(c, "__guest_response");
  return {};
}

std::vector<Value> guestError(Caller& c, std::span<const Value> a) {
  WapcState& s = stateOf(c);
  if (!c.read(u32(a[0]), u32(a[1]), s.guest_error)) badPointer(c, "__guest_error");
  s.guest_error_set = true;
  return {};
}

std::vector<Value> hostCall(Caller& c, std::span<const Value> a) {
  WapcState& s = stateOf(c);
  std::string binding, ns, op, payload;
  if (!c.read(u32(a[0]), u32(a[1]), binding) || !c.read(u32(a[2]), u32(a[3]), ns) ||
      !c.read(u32(a[4]), u32(a[5]), op) || !c.read(u32(a[6]), u32(a[7]), payload)) {
    badPointer(c, "__host_call");
    return {Value::fromI32(0)};
  }
  s.host_response.clear();
  s.host_error.clear();
  if (!s.dispatcher) {
    s.host_error = "host capabilities are not available";
    return {Value::fromI32(0)};
  }
  auto reply = s.dispatcher->dispatch({s.policy_id, binding, ns, op, payload, s.deadline});
  if (!reply) {
    s.host_error = reply.error().message;
    return {Value::fromI32(0)};
  }
  s.host_response = std::move(*reply);
  return {Value::fromI32(1)};
}

std::vector<Value> hostResponseLen(Caller& c, std::span<const Value>) {
  return {Value::fromI32(int32_t(stateOf(c).host_response.size()))};
}

std::vector<Value> hostResponse(Caller& c, std::span<const Value> a) {
  if (!c.write(u32(a[0]), stateOf(c).host_response)) badPointer(c, "__host_response");
  return {};
}

std::vector<Value> hostErrorLen(Caller& c, std::span<const Value>) {
  return {Value::fromI32(int32_t(stateOf(c).host_error.size()))};
}

std::vector<Value> hostError(Caller& c, std::span<const Value> a) {
  if (!c.write(u32(a[0]), stateOf(c).host_error)) badPointer(c, "__host_error");
  return {};
}

std::vector<Value> consoleLog(Caller& c, std::span<const Value> a) {
  WapcState& s = stateOf(c);
  std::string line;
  if (!c.read(u32(a[0]), u32(a[1]), line)) {
    badPointer(c, "__console_log");
    return {};
  }
  if (s.console_log) s.console_log->push_back(line);
  spdlog::info("[{}] {}", s.policy_id, line);
  return {};
}


wasm::ImportSet buildImportSet() {
  wasm::ImportSet set;
  const auto I = ValType::I32;
  auto add = [&](const char* name, FuncType type, wasm::HostCallback cb) {
    set.add({"wapc", name, std::move(type), std::move(cb)});
  };
  add("__guest_request", {{I, I}, {}}, guestRequest);
  add("__guest_response", {{I, I}, {}}, guestResponse);
  add("__guest_error", {{I, I}, {}}, guestError);
  add("__host_call", {{I, I, I, I, I, I, I, I}, {I}}, hostCall);
  add("__host_response_len", {{}, {I}}, hostResponseLen);
  add("__host_response", {{I}, {}}, hostResponse);
  add("__host_error_len", {{}, {I}}, hostErrorLen);
  add("__host_error", {{I}, {}}, hostError);
  add("__console_log", {{I, I}, {}}, consoleLog);
  wasi::addWasiImports(set, wasiOf);
  wasi::addWasiUnstableAliases(set);
  return set;
}

// WASI proc_exit(0) during initialisation is a normal end, not a failure.
bool isCleanExit(const wasm::CallError& e) { return e.kind == FailKind::Exit && e.exit_code == 0; }

}  // namespace

const wasm::ImportSet& importSet() {
  static const wasm::ImportSet set = buildImportSet();
  return set;
}

wasm::CallResult<std::unique_ptr<WapcInstance>> WapcInstance::create(
    wasm::Engine& engine, const wasm::CompiledModulePtr& m, Options options) {
  std::unique_ptr<WapcInstance> self(new WapcInstance());
  self->state_ = std::make_unique<WapcState>();
  self->state_->dispatcher = options.dispatcher;
  self->state_->policy_id = std::move(options.policy_id);
  self->state_->console_log = options.console_log;
  self->state_->deadline = options.deadline;
  self->state_->wasi.setArgs({"policy.wasm"});

  wasm::InstanceOptions io;
  io.imports = &importSet();
  io.host_data = self->state_.get();
  io.deadline = options.deadline;
  auto inst = engine.instantiate(m, io);
  if (auto* err = std::get_if<wasm::CallError>(&inst)) return *err;
  self->instance_ = std::move(std::get<wasm::InstancePtr>(inst));

  for (const char* init : {"_initialize", "_start", "wapc_init"}) {
    if (!m->hasExport(init)) continue;
    auto r = self->instance_->call(init, {}, options.deadline);
    if (auto* err = std::get_if<wasm::CallError>(&r); err && !isCleanExit(*err)) return *err;
  }
  return self;
}

wasm::CallResult<GuestCallResult> WapcInstance::call(
    std::string_view operation, std::string_view payload,
    std::chrono::steady_clock::time_point deadline) {
  WapcState& s = *state_;
  s.operation.assign(operation);
  s.payload.assign(payload);
  s.guest_response.clear();
  s.guest_error.clear();
  s.guest_error_set = false;
  s.deadline = deadline;
  Value args[2] = {Value::fromI32(int32_t(operation.size())),
                   Value::fromI32(int32_t(payload.size()))};
  auto r = instance_->call("__guest_call", args, deadline);
  if (auto* err = std::get_if<wasm::CallError>(&r)) return *err;
  const auto& results = std::get<std::vector<Value>>(r);
  GuestCallResult out;
  out.ok = !results.empty() && results[0].i32 == 1;
  if (out.ok) {
    out.response = std::move(s.guest_response);
  } else {
    out.error = s.guest_error_set ? std::move(s.guest_error) : "guest call failed with no error";
  }
  return out;
}

}  // namespace kw::wapc
