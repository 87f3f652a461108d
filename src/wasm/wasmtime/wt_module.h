// A module compiled by wasmtime, with the pre-linked instantiation recipe for each import set
// that has instantiated it. Immutable apart from that cache, which is guarded by a mutex.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kw/wasm/engine.h"
#include "wasm/binary/module_binary.h"
#include "wasm/wasmtime/wt_handles.h"

namespace kw::wasm::wt {

// The host functions of one ImportSet defined in a linker, and (for modules that do not import
// their memory) the InstancePre that instantiates the module in any store without resolving
// imports again.
struct Prelinked {
  LinkerPtr linker;
  InstancePrePtr pre;  // null when the module imports its memory: see WtInstance
};

class WtModule : public CompiledModule {
 public:
  WtModule(wasm_engine_t* engine, ModulePtr module, const binary::ModuleInfo& info);

  const std::vector<ModuleImport>& imports() const override { return imports_; }
  const std::vector<std::string>& exports() const override { return exports_; }

  const wasmtime_module_t* module() const { return module_.get(); }
  const FuncType* exportType(std::string_view name) const;
  // The name under which the module exports its memory ("" when it does not).
  const std::string& memoryExport() const { return memory_export_; }
  const std::optional<binary::MemoryLimits>& memory() const { return memory_; }
  bool importsMemory() const { return memory_ && memory_->imported; }

  // The linker and InstancePre for `set`, made on first use. Errors read like V8's.
  std::variant<const Prelinked*, CallError> prelinked(const ImportSet* set) const;

 private:
  std::variant<std::unique_ptr<Prelinked>, CallError> link(const ImportSet* set) const;

  wasm_engine_t* engine_;
  ModulePtr module_;
  std::vector<ModuleImport> imports_;
  std::vector<std::string> exports_;
  std::map<std::string, FuncType, std::less<>> export_types_;
  std::string memory_export_;
  std::optional<binary::MemoryLimits> memory_;

  mutable std::mutex mu_;
  // Few import sets exist (one per runtime kind), so a list beats a map.
  mutable std::vector<std::pair<const ImportSet*, std::unique_ptr<Prelinked>>> linked_;
};

}  // namespace kw::wasm::wt
