#include "wasm/wasmtime/wt_instance.h"

#include <algorithm>

#include "wasm/deadline_watchdog.h"
#include "wasm/wasmtime/wt_errors.h"

namespace kw::wasm::wt {
namespace {

// A deadline far enough away never to be reached, without overflowing the epoch counter.
constexpr uint64_t kNoDeadlineTicks = uint64_t(1) << 62;
constexpr uint64_t kPageSize = 64 * 1024;

wasmtime_val_t toWasm(const Value& v) {
  wasmtime_val_t out{};
  switch (v.type) {
    case ValType::I32: out.kind = WASMTIME_I32; out.of.i32 = v.i32; break;
    case ValType::I64: out.kind = WASMTIME_I64; out.of.i64 = v.i64; break;
    case ValType::F32: out.kind = WASMTIME_F32; out.of.f32 = v.f32; break;
    case ValType::F64: out.kind = WASMTIME_F64; out.of.f64 = v.f64; break;
  }
  return out;
}

Value fromWasm(const wasmtime_val_t& v) {
  switch (v.kind) {
    case WASMTIME_I64: return Value::fromI64(v.of.i64);
    case WASMTIME_F32: return Value::fromF32(v.of.f32);
    case WASMTIME_F64: return Value::fromF64(v.of.f64);
    default: return Value::fromI32(v.of.i32);
  }
}

double asDouble(const Value& v) {
  switch (v.type) {
    case ValType::I32: return v.i32;
    case ValType::I64: return double(v.i64);
    case ValType::F32: return v.f32;
    case ValType::F64: return v.f64;
  }
  return 0;
}

// V8 converts a JS number to whatever the export declares; do the same for callers that pass
// an i32 where the guest takes an i64 or a double.
Value coerce(const Value& v, ValType want) {
  if (v.type == want) return v;
  bool integral = v.type == ValType::I32 || v.type == ValType::I64;
  int64_t whole = v.type == ValType::I32 ? v.i32 : v.type == ValType::I64 ? v.i64 : 0;
  switch (want) {
    case ValType::I32: return Value::fromI32(integral ? int32_t(whole) : int32_t(asDouble(v)));
    case ValType::I64: return Value::fromI64(integral ? whole : int64_t(asDouble(v)));
    case ValType::F32: return Value::fromF32(float(asDouble(v)));
    case ValType::F64: return Value::fromF64(asDouble(v));
  }
  return v;
}

// A host function's results, typed as its import declares whatever the callback returned.
void storeResults(const FuncType& type, const std::vector<Value>& values, wasmtime_val_t* out,
                  size_t n) {
  for (size_t i = 0; i < n && i < type.results.size(); ++i) {
    Value v = i < values.size() ? values[i] : Value();
    out[i] = toWasm(coerce(v, type.results[i]));
  }
}

}  // namespace

WtInstance::WtInstance(const Runtime& runtime, CompiledModulePtr module, void* host_data,
                       uint64_t memory_cap_bytes)
    : runtime_(runtime),
      module_(std::move(module)),
      host_data_(host_data),
      memory_cap_bytes_(memory_cap_bytes),
      store_(wasmtime_store_new(runtime.engine, this, nullptr)),
      context_(wasmtime_store_context(store_.get())) {
  // memory.grow past the cap returns -1 inside the guest, as with V8's rewritten maximum.
  wasmtime_store_limiter(store_.get(), int64_t(memory_cap_bytes), -1, -1, -1, -1);
  wasmtime_store_epoch_deadline_callback(store_.get(), &WtInstance::onEpoch, this, nullptr);
}

std::optional<CallError> WtInstance::instantiate(const Prelinked& linked,
                                                 const InstanceOptions& options) {
  auto err = guarded(options.deadline, [&](wasm_trap_t** trap) -> wasmtime_error_t* {
    if (linked.pre) {
      return wasmtime_instance_pre_instantiate(linked.pre.get(), context_, &instance_, trap);
    }
    wasmtime_error_t* error = nullptr;
    if (auto failed = instantiateWithMemory(linked, options.imported_memory_min_pages, trap, &error)) {
      pending_ = std::move(failed);
    }
    return error;
  });
  if (err) {
    if (err->kind == FailKind::Trap) err->kind = FailKind::Instantiate;
    return err;
  }
  if (!memory_) findMemory();
  return std::nullopt;
}

// A module that imports its memory (OPA's env.memory) gets one made in this store. A store's
// items cannot be part of an InstancePre, so each import is resolved here: functions come from
// the linker (no new host function is created), the memory is the new one.
std::optional<CallError> WtInstance::instantiateWithMemory(const Prelinked& linked,
                                                           uint32_t min_pages, wasm_trap_t** trap,
                                                           wasmtime_error_t** error) {
  const auto& limits = *module().memory();
  uint64_t cap_pages = std::max<uint64_t>(1, memory_cap_bytes_ / kPageSize);
  uint64_t maximum = limits.max_pages ? std::min(cap_pages, *limits.max_pages) : cap_pages;
  uint64_t initial = std::min(maximum, std::max<uint64_t>(min_pages, limits.min_pages));
  wasm_memorytype_t* type = nullptr;
  ErrorPtr made(wasmtime_memorytype_new(initial, true, maximum, false, false, 16, &type));
  if (made) return CallError{FailKind::Instantiate, "cannot allocate guest memory: " + messageOf(made.get())};
  wasmtime_memory_t memory;
  ErrorPtr created(wasmtime_memory_new(context_, type, &memory));
  wasm_memorytype_delete(type);
  if (created) {
    return CallError{FailKind::Instantiate, "cannot allocate guest memory: " + messageOf(created.get())};
  }
  memory_ = memory;
  std::vector<wasmtime_extern_t> imports(module().imports().size());
  for (size_t i = 0; i < imports.size(); ++i) {
    const ModuleImport& im = module().imports()[i];
    if (im.kind == ModuleImport::Kind::Memory) {
      imports[i].kind = WASMTIME_EXTERN_MEMORY;
      imports[i].of.memory = memory;
    } else if (!wasmtime_linker_get(linked.linker.get(), context_, im.module.data(),
                                    im.module.size(), im.name.data(), im.name.size(), &imports[i])) {
      return CallError{FailKind::Instantiate, "module imports `" + im.module + "`.`" + im.name +
                                                  "`, which this runtime does not provide"};
    }
  }
  *error = wasmtime_instance_new(context_, module().module(), imports.data(), imports.size(),
                                 &instance_, trap);
  return std::nullopt;
}

void WtInstance::findMemory() {
  const std::string& name = module().memoryExport();
  if (name.empty()) return;
  wasmtime_extern_t item;
  if (wasmtime_instance_export_get(context_, &instance_, name.data(), name.size(), &item) &&
      item.kind == WASMTIME_EXTERN_MEMORY) {
    memory_ = item.of.memory;
  }
}

CallResult<std::vector<Value>> WtInstance::call(std::string_view name, std::span<const Value> args,
                                                Clock::time_point deadline) {
  const FuncType* type = module().exportType(name);
  wasmtime_extern_t item;
  if (!type || !wasmtime_instance_export_get(context_, &instance_, name.data(), name.size(), &item) ||
      item.kind != WASMTIME_EXTERN_FUNC) {
    return CallError{FailKind::NotFound, "cannot find `" + std::string(name) + "` export"};
  }
  if (type->params.size() != args.size()) {
    return CallError{FailKind::NotFound, "`" + std::string(name) + "` takes " +
                                             std::to_string(type->params.size()) + " arguments"};
  }
  std::vector<wasmtime_val_t> in(args.size());
  for (size_t i = 0; i < args.size(); ++i) in[i] = toWasm(coerce(args[i], type->params[i]));
  std::vector<wasmtime_val_t> out(type->results.size());
  auto err = guarded(deadline, [&](wasm_trap_t** trap) {
    return wasmtime_func_call(context_, &item.of.func, in.data(), in.size(), out.data(), out.size(),
                              trap);
  });
  if (err) return *err;
  std::vector<Value> results;
  results.reserve(out.size());
  for (const auto& v : out) results.push_back(fromWasm(v));
  return results;
}

template <typename F>
std::optional<CallError> WtInstance::guarded(Clock::time_point deadline, F&& body) {
  pending_.reset();
  timed_out_ = false;
  deadline_ = deadline;
  bool bounded = deadline != Clock::time_point::max();
  // Checked at the next epoch tick; ticks happen only when some call's deadline passes, and
  // onEpoch compares against the clock, so another call's tick never stops this one early.
  wasmtime_context_set_epoch_deadline(context_, bounded ? 1 : kNoDeadlineTicks);
  DeadlineWatchdog::Ticket ticket = 0;
  if (bounded) {
    ticket = DeadlineWatchdog::instance().arm(deadline, [r = &runtime_] { tick(*r); });
  }
  wasm_trap_t* raw_trap = nullptr;
  ErrorPtr error(body(&raw_trap));
  TrapPtr trap(raw_trap);
  if (ticket) DeadlineWatchdog::instance().disarm(ticket);
  if (pending_) {
    auto p = std::move(pending_);
    pending_.reset();
    return p;
  }
  if (!error && !trap) return std::nullopt;
  if (timed_out_) return CallError{FailKind::Timeout, kTimeoutMessage};
  return callError(error.get(), trap.get());
}

wasmtime_error_t* WtInstance::onEpoch(wasmtime_context_t*, void* self, uint64_t* delta,
                                      wasmtime_update_deadline_kind_t* kind) {
  auto* inst = static_cast<WtInstance*>(self);
  if (Clock::now() >= inst->deadline_) {
    inst->timed_out_ = true;
    return wasmtime_error_new(kTimeoutMessage);
  }
  *delta = 1;
  *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
  return nullptr;
}

std::optional<std::span<uint8_t>> WtInstance::memory(uint64_t ptr, uint64_t len) {
  if (!memory_ && active_caller_) {
    // During the start function the instance is not known yet; its caller is.
    const std::string& name = module().memoryExport();
    wasmtime_extern_t item;
    if (!name.empty() &&
        wasmtime_caller_export_get(active_caller_, name.data(), name.size(), &item) &&
        item.kind == WASMTIME_EXTERN_MEMORY) {
      memory_ = item.of.memory;
    }
  }
  if (!memory_) return std::nullopt;
  if (ptr > UINT32_MAX || len > UINT32_MAX || ptr + len > UINT32_MAX) return std::nullopt;
  uint64_t size = wasmtime_memory_data_size(context_, &*memory_);
  if (ptr + len > size) return std::nullopt;
  return std::span<uint8_t>(wasmtime_memory_data(context_, &*memory_) + ptr, len);
}

void WtInstance::fail(FailKind kind, std::string message, int32_t exit_code) {
  if (pending_) return;
  pending_ = CallError{kind, std::move(message), exit_code};
}

wasm_trap_t* WtInstance::hostTrampoline(void* env, wasmtime_caller_t* caller,
                                        const wasmtime_val_t* args, size_t nargs,
                                        wasmtime_val_t* results, size_t nresults) {
  const auto* fn = static_cast<const HostFunction*>(env);
  auto* self = static_cast<WtInstance*>(wasmtime_context_get_data(wasmtime_caller_context(caller)));
  Value in[16];
  size_t n = std::min<size_t>(nargs, 16);
  for (size_t i = 0; i < n; ++i) in[i] = fromWasm(args[i]);
  wasmtime_caller_t* saved = self->active_caller_;
  self->active_caller_ = caller;
  std::vector<Value> out = fn->callback(*self, std::span<const Value>(in, n));
  self->active_caller_ = saved;
  if (self->pending_) {
    static constexpr char kFailed[] = "host function failed";
    return wasmtime_trap_new(kFailed, sizeof(kFailed) - 1);
  }
  storeResults(fn->type, out, results, nresults);
  return nullptr;
}

}  // namespace kw::wasm::wt
