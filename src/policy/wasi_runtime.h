// Kubewarden's WASI policies (executionMode `wasi`: Go wasip1, Javy/JS, our C WASI guests).
// Each evaluation runs the module as a command on a fresh instance with its own in-memory WASI
// state: argv ["policy.wasm", "validate"] with {"request":…,"settings":…} on stdin, or argv
// ["policy.wasm", "validate-settings"] with the settings on stdin; the reply is whatever the
// program wrote to stdout before `_start` returned or proc_exit(0).
//
// Host capabilities use the import `host`.`call`(binding, namespace, operation, payload as
// pointer/length pairs) -> i32: 0 on success, 1 on failure, and the reply (or the error text)
// is appended to the guest's stdin, where the guest reads it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "policy/mode_runtime.h"

namespace kw::policy {

class WasiRuntime : public ModeRuntime {
 public:
  Result<admission::OrderedJson> validate(const PolicyConfig& policy, const Request& request,
                                          const Invocation& call) const override;
  SettingsValidation validateSettings(const PolicyConfig& policy,
                                      const Invocation& call) const override;
};

// One run of a WASI command module.
struct WasiCommand {
  std::vector<std::string> argv;
  std::string stdin_data;
  host::Dispatcher* dispatcher = nullptr;  // null: host.call answers "not available"
  std::string policy_id;                   // handed to the dispatcher
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// What the run produced. `failure` is empty exactly when the program ended with status 0
// (normal return from `_start` or proc_exit(0)); a non-zero proc_exit is a failure of kind
// FailKind::Exit carrying the status.
struct WasiRun {
  std::optional<wasm::CallError> failure;
  std::string stdout_data;
  std::string stderr_data;
};

// The imports every WASI policy instance gets: WASI preview1 (plus `wasi_unstable` aliases
// where the ABI is unchanged) and `host`.`call`. Built once.
const wasm::ImportSet& wasiPolicyImports();

// Instantiates `module` and runs `_start` under `cmd.deadline`. Never throws; the WASI state
// lives and dies with the call.
WasiRun runWasiCommand(wasm::Engine& engine, const wasm::CompiledModulePtr& module,
                       const WasiCommand& cmd);

// Kubewarden's text for a failed run, e.g. "program exited with code Some(3); stderr set to
// 'boom', error: 'Exited with i32 exit status 3'".
std::string describeWasiFailure(const WasiRun& run);

}  // namespace kw::policy
