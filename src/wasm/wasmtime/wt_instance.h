// One fresh instance: its own store (so its memory and tables come from the pooling allocator
// and go back when it dies), the per-call deadline, and the guest view for host functions.
#pragma once

#include <chrono>
#include <optional>

#include "kw/wasm/engine.h"
#include "wasm/wasmtime/wt_module.h"
#include "wasm/wasmtime/wt_runtime.h"

namespace kw::wasm::wt {

class WtInstance : public Instance, public Caller {
 public:
  using Clock = std::chrono::steady_clock;

  WtInstance(const Runtime& runtime, CompiledModulePtr module, void* host_data,
             uint64_t memory_cap_bytes);

  // Runs instantiation (and the start function) under options.deadline.
  std::optional<CallError> instantiate(const Prelinked& linked, const InstanceOptions& options);

  // --- Instance ---
  CallResult<std::vector<Value>> call(std::string_view name, std::span<const Value> args,
                                      Clock::time_point deadline) override;
  Caller& caller() override { return *this; }

  // --- Caller ---
  std::optional<std::span<uint8_t>> memory(uint64_t ptr, uint64_t len) override;
  void* hostData() override { return host_data_; }
  void fail(FailKind kind, std::string message, int32_t exit_code) override;

  // The callback behind every host function; `env` is the HostFunction.
  static wasm_trap_t* hostTrampoline(void* env, wasmtime_caller_t* caller,
                                     const wasmtime_val_t* args, size_t nargs,
                                     wasmtime_val_t* results, size_t nresults);

 private:
  const WtModule& module() const { return *static_cast<const WtModule*>(module_.get()); }
  std::optional<CallError> instantiateWithMemory(const Prelinked& linked, uint32_t min_pages,
                                                 wasm_trap_t** trap, wasmtime_error_t** error);
  void findMemory();

  // Runs `body` (a wasmtime call filling a trap or returning an error) under `deadline` and
  // turns the outcome into a CallError, or nullopt on success.
  template <typename F>
  std::optional<CallError> guarded(Clock::time_point deadline, F&& body);
  static wasmtime_error_t* onEpoch(wasmtime_context_t*, void* self, uint64_t* delta,
                                   wasmtime_update_deadline_kind_t* kind);

  const Runtime& runtime_;
  CompiledModulePtr module_;  // keeps the code alive as long as the instance
  void* host_data_;
  uint64_t memory_cap_bytes_;
  StorePtr store_;
  wasmtime_context_t* context_ = nullptr;
  wasmtime_instance_t instance_{};
  std::optional<wasmtime_memory_t> memory_;
  wasmtime_caller_t* active_caller_ = nullptr;  // set while a host function runs
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timed_out_ = false;
  std::optional<CallError> pending_;
};

}  // namespace kw::wasm::wt
