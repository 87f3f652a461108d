// The host side of OPA's WebAssembly ABI (modules built by `opa build -t wasm`), written
// against the engine-neutral interface:
// - imports from `env`: memory (created by the engine, at least kMemoryMinPages pages),
//   opa_abort(addr), opa_println(addr), opa_builtin0..4(id, ctx, args...) -> addr;
// - exports used: builtins, entrypoints, opa_heap_ptr_get/set, opa_malloc, opa_json_parse,
//   opa_json_dump, opa_eval_ctx_new/_set_input/_set_data/_set_entrypoint, eval,
//   opa_eval_ctx_get_result. Evaluation takes the eval-context path, as Kubewarden does (not the
//   ABI 1.2 single-call opa_eval).
// Values cross the boundary as JSON text: opa_json_parse to place one, opa_json_dump to read
// one back. Builtins that the module does not implement itself run on the host (builtins.h);
// their arguments and results travel the same way, through calls back into the guest.
//
// ABI version: the module states it in two exported i32 globals. Engines here expose only
// functions, so readAbiVersion() reads the globals from the module bytes where the caller has
// them; a runtime that only holds the compiled module accepts it as ABI 1.x.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kw/wasm/engine.h"
#include "opa/builtins.h"

namespace kw::opa {

// OPA's SDKs and Kubewarden create the imported memory with 5 pages.
constexpr uint32_t kMemoryMinPages = 5;

struct AbiVersion {
  int32_t major = 0;
  int32_t minor = 0;
};

// The values of the exported globals opa_wasm_abi_version / opa_wasm_abi_minor_version, read
// from the binary; nullopt when the module does not export them (OPA < 0.27) or is malformed.
std::optional<AbiVersion> readAbiVersion(std::span<const uint8_t> wasm);
// Only ABI 1.x exists; minor versions are backwards compatible.
Status checkAbiVersion(const AbiVersion& version);

// The `env` function imports. Built once; per-instance state reaches them as host data.
const wasm::ImportSet& importSet();

// What a module offers and needs, read from its first instance and shared by the later ones.
struct ModuleInfo {
  std::vector<std::string> builtin_names;  // by builtin id ("" for unused ids)
  std::vector<const Builtin*> builtins;    // by builtin id; null when not implemented here
  std::map<std::string, int32_t> entrypoints;

  // The builtins the module needs that we do not implement, sorted.
  std::vector<std::string> missingBuiltins() const;
  bool hasEntrypoint(int32_t id) const;
};
using ModuleInfoPtr = std::shared_ptr<const ModuleInfo>;

// wasm::CallResult<Done>: success carries nothing.
struct Done {};

// One instance of an OPA module, its memory marks and its builtin state.
//
// Errors are wasm::CallErrors whose messages read on their own: Timeout carries the engine's
// "guest code interrupted, execution deadline exceeded"; an opa_abort carries the guest's
// message unchanged (HostError); a builtin the host lacks fails with the OPA SDK's
// "not implemented: built-in function <id>: <name>" when it is called.
class OpaInstance {
 public:
  struct Options {
    std::string policy_id;  // for logs
    // Bounds instantiation and every call into the guest.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    ModuleInfoPtr info;  // from an earlier instance of the same module; null: read it
    std::vector<std::string>* prints = nullptr;  // when set, println and trace lines land here
  };

  static wasm::CallResult<std::unique_ptr<OpaInstance>> create(
      wasm::Engine& engine, const wasm::CompiledModulePtr& module, Options options);
  ~OpaInstance();

  const ModuleInfoPtr& info() const { return info_; }

  // Places the data document; every evaluation then restarts its heap just after it.
  wasm::CallResult<Done> setData(std::string_view data_json);
  // Evaluates an entrypoint with this input; the result set as JSON text, e.g.
  // [{"result": ...}] (empty when the entrypoint is undefined). Data defaults to {}.
  wasm::CallResult<std::string> evaluate(int32_t entrypoint, std::string_view input_json);

  struct HostState;

 private:
  OpaInstance() = default;

  std::unique_ptr<HostState> state_;
  wasm::InstancePtr instance_;
  ModuleInfoPtr info_;
  uint32_t base_heap_ptr_ = 0;  // after what loading the module allocated
  uint32_t data_heap_ptr_ = 0;  // after the data document
  std::optional<uint32_t> data_addr_;
};

}  // namespace kw::opa
