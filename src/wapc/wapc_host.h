// The waPC host protocol over the engine-neutral Wasm interface: imports from module "wapc"
// (__guest_request, __guest_response, __guest_error, __host_call, __host_response[_len],
// __host_error[_len], __console_log), the guest's __guest_call export, and the init exports.
// Kubewarden operations (validate, validate_settings, protocol_version) sit on top of this in
// src/policy; this layer is just the generic protocol, so any waPC guest runs on it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kw/host/dispatcher.h"
#include "kw/wasm/engine.h"
#include "wasi/wasi_context.h"

namespace kw::wapc {

// Per-instance protocol state; the instance's host data.
struct WapcState {
  std::string operation;
  std::string payload;
  std::string guest_response;
  std::string guest_error;
  bool guest_error_set = false;
  std::string host_response;
  std::string host_error;
  host::Dispatcher* dispatcher = nullptr;
  std::string policy_id;
  std::vector<std::string>* console_log = nullptr;  // when set, __console_log lines land here
  // The running call's deadline, handed to host calls so they stop waiting when it passes.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  wasi::WasiContext wasi;
};

// waPC plus WASI preview1 imports (TinyGo waPC guests import WASI too). Built once.
const wasm::ImportSet& importSet();

struct GuestCallResult {
  bool ok = false;        // __guest_call returned 1
  std::string response;   // guest response on success
  std::string error;      // guest error on failure
};

// One fresh guest instance and its protocol state.
class WapcInstance {
 public:
  struct Options {
    host::Dispatcher* dispatcher = nullptr;
    std::string policy_id;
    std::vector<std::string>* console_log = nullptr;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  };

  // Instantiates and runs the guest's initialisation (_initialize, _start, wapc_init).
  static wasm::CallResult<std::unique_ptr<WapcInstance>> create(wasm::Engine& engine,
                                                                const wasm::CompiledModulePtr& m,
                                                                Options options);

  // Invokes __guest_call for `operation` with `payload`. Engine failures (trap, timeout, bad
  // pointer) come back as CallError; a guest that reports an error returns ok=false.
  wasm::CallResult<GuestCallResult> call(std::string_view operation, std::string_view payload,
                                         std::chrono::steady_clock::time_point deadline);

 private:
  WapcInstance() = default;
  std::unique_ptr<WapcState> state_;
  wasm::InstancePtr instance_;
};

}  // namespace kw::wapc
