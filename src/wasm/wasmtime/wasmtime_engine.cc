// The wasmtime backend of the engine-neutral interface. Only src/wasm/wasmtime/ includes
// wasmtime headers.
//
// Design:
// - One wasmtime engine for the process (wt_runtime): Cranelift, epoch interruption, and the
//   pooling allocator, whose memory slots come with copy-on-write images of each module's
//   initial memory. Engine objects share it; their options (memory cap, code cache) apply to
//   the modules and instances they make. Every compile tier gets Cranelift's optimised code:
//   the code cache, not a baseline compiler, is what makes the second load fast.
// - A module is compiled once (or loaded from the code cache) and pre-linked once per import
//   set (wt_module: Linker + InstancePre). Host functions are defined in the linker, so no
//   per-instance function objects are made.
// - Each instance is a new store plus InstancePre::instantiate: its memory comes from a pool
//   slot already mapped with the module's image, so a fresh instance costs no copying and
//   always starts from the pristine state. Dropping it returns the slot.
// - Deadlines: the process's DeadlineWatchdog advances the epoch when a call's deadline
//   passes; each store checks the clock on every epoch change (wt_instance).
// - Memory caps: the store's limiter. memory.grow past the cap returns -1 inside the guest.
#include <algorithm>

#include "common/sha256.h"
#include "kw/wasm/engine.h"
#include "wasm/binary/module_binary.h"
#include "wasm/wasmtime/wt_code_cache.h"
#include "wasm/wasmtime/wt_errors.h"
#include "wasm/wasmtime/wt_instance.h"
#include "wasm/wasmtime/wt_module.h"
#include "wasm/wasmtime/wt_runtime.h"

namespace kw::wasm {
namespace {

constexpr uint64_t kPageSize = 64 * 1024;

class WasmtimeEngine : public Engine {
 public:
  explicit WasmtimeEngine(const EngineOptions& options)
      : options_(options), runtime_(wt::Runtime::get()) {
    if (!options.code_cache_dir.empty()) cache_.emplace(options.code_cache_dir, runtime_.settings_id);
  }

  const EngineOptions& options() const override { return options_; }
  std::string name() const override { return "wasmtime"; }

  Result<CompiledModulePtr> compile(std::span<const uint8_t> wasm) override {
    if (!binary::isWasm(wasm)) return makeError("not a WebAssembly module (bad magic or version)");
    auto info = binary::parse(wasm);
    if (!info) return info.error();
    // Refused here, as the V8 backend does, rather than at the first instantiation.
    if (info->memory && info->memory->min_pages > capPages()) {
      return binary::withMemoryCap(wasm, capPages()).error();
    }
    auto module = load(wasm);
    if (!module) return module.error();
    return CompiledModulePtr(
        std::make_shared<wt::WtModule>(runtime_.engine, std::move(*module), *info));
  }

  CallResult<InstancePtr> instantiate(const CompiledModulePtr& module,
                                      const InstanceOptions& options) override {
    auto* m = static_cast<const wt::WtModule*>(module.get());
    auto linked = m->prelinked(options.imports);
    if (auto* error = std::get_if<CallError>(&linked)) return *error;
    auto inst = std::make_unique<wt::WtInstance>(runtime_, module, options.host_data,
                                                 capPages() * kPageSize);
    if (auto error = inst->instantiate(*std::get<const wt::Prelinked*>(linked), options)) {
      return *error;
    }
    return InstancePtr(std::move(inst));
  }

 private:
  uint64_t capPages() const { return std::max<uint64_t>(1, options_.max_memory_bytes / kPageSize); }

  Result<wt::ModulePtr> load(std::span<const uint8_t> wasm) {
    std::string sha256 = cache_ ? sha256Hex(wasm) : std::string();
    if (cache_) {
      if (auto cached = cache_->load(runtime_.engine, sha256)) return cached;
    }
    wasmtime_module_t* raw = nullptr;
    wt::ErrorPtr error(wasmtime_module_new(runtime_.engine, wasm.data(), wasm.size(), &raw));
    if (error) return makeError("invalid WebAssembly module: " + wt::messageOf(error.get()));
    wt::ModulePtr module(raw);
    if (cache_) cache_->store(sha256, module.get());
    return module;
  }

  EngineOptions options_;
  wt::Runtime& runtime_;
  std::optional<wt::CodeCache> cache_;
};

}  // namespace

std::shared_ptr<Engine> createWasmtimeEngine(const EngineOptions& options) {
  return std::make_shared<WasmtimeEngine>(options);
}

}  // namespace kw::wasm
