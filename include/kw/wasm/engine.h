// The engine-neutral WebAssembly interface. Nothing outside src/wasm/<engine>/ includes an
// engine's headers; runtimes (waPC, WASI, OPA) are written against these types only.
//
// Lifecycle: an Engine compiles bytes into a CompiledModule once; the CompiledModule is
// immutable and shared by every thread. Each evaluation creates a fresh Instance from it on the
// calling thread, uses it, and drops it. Instances are not thread-safe and never move threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kw::wasm {

enum class ValType { I32, I64, F32, F64 };

struct Value {
  ValType type = ValType::I32;
  union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
  };
  Value() : i64(0) {}
  static Value fromI32(int32_t v) { Value x; x.type = ValType::I32; x.i32 = v; return x; }
  static Value fromI64(int64_t v) { Value x; x.type = ValType::I64; x.i64 = v; return x; }
  static Value fromF32(float v) { Value x; x.type = ValType::F32; x.f32 = v; return x; }
  static Value fromF64(double v) { Value x; x.type = ValType::F64; x.f64 = v; return x; }
};

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
};

// Why a guest call ended abnormally. Runtimes map these to Kubewarden's error texts.
enum class FailKind {
  Trap,         // unreachable, out-of-bounds access, stack overflow, division by zero...
  Timeout,      // the per-call deadline fired
  Exit,         // WASI proc_exit: exit_code holds the status (0 is not a failure)
  HostError,    // a host function asked to abort the guest
  Instantiate,  // linking or start function failed
  NotFound,     // no such export, or wrong signature
};

struct CallError {
  FailKind kind = FailKind::Trap;
  std::string message;
  int32_t exit_code = 0;
};

template <typename T>
using CallResult = std::variant<T, CallError>;

// The guest's view passed to host functions while they run. Pointers from the guest are
// untrusted: every access is bounds-checked, and a failed check is an error, never a crash.
// Spans are valid only until the next call into the guest (memory.grow may move memory).
class Caller {
 public:
  virtual ~Caller() = default;
  // [ptr, ptr+len) inside linear memory, or nullopt when out of bounds or no memory.
  virtual std::optional<std::span<uint8_t>> memory(uint64_t ptr, uint64_t len) = 0;
  // Per-instance state the runtime attached when it created the instance.
  virtual void* hostData() = 0;
  // Stop the guest: the current call returns CallError{kind, message, exit_code}.
  virtual void fail(FailKind kind, std::string message, int32_t exit_code = 0) = 0;

  bool read(uint64_t ptr, uint64_t len, std::string& out);
  bool write(uint64_t ptr, std::span<const uint8_t> bytes);
  bool write(uint64_t ptr, std::string_view bytes);
  std::optional<uint32_t> readU32(uint64_t ptr);
  bool writeU32(uint64_t ptr, uint32_t v);
  bool writeU64(uint64_t ptr, uint64_t v);
};

// A host function: called with the guest's arguments, it returns results matching its type.
// After caller.fail(...) the returned values are ignored.
using HostCallback = std::function<std::vector<Value>(Caller&, std::span<const Value>)>;

struct HostFunction {
  std::string module;
  std::string name;
  FuncType type;
  HostCallback callback;
};

// A set of imports shared by all instances of a runtime kind (waPC, WASI, OPA). Built once;
// per-instance state reaches callbacks through Caller::hostData().
class ImportSet {
 public:
  void add(HostFunction fn) { functions_.push_back(std::move(fn)); }
  const std::vector<HostFunction>& functions() const { return functions_; }
  const HostFunction* find(std::string_view module, std::string_view name) const;

 private:
  std::vector<HostFunction> functions_;
};

struct ModuleImport {
  std::string module;
  std::string name;
  enum class Kind { Function, Table, Memory, Global } kind;
};

// Immutable and thread-safe: compiled once, instantiated by many threads.
class CompiledModule {
 public:
  virtual ~CompiledModule() = default;
  virtual const std::vector<ModuleImport>& imports() const = 0;
  virtual const std::vector<std::string>& exports() const = 0;
  bool hasExport(std::string_view name) const;
};
using CompiledModulePtr = std::shared_ptr<const CompiledModule>;

// One fresh instance. Lives on the thread that created it.
class Instance {
 public:
  virtual ~Instance() = default;
  // Calls an exported function. `deadline` bounds this call, including host calls it makes.
  virtual CallResult<std::vector<Value>> call(std::string_view name, std::span<const Value> args,
                                              std::chrono::steady_clock::time_point deadline) = 0;
  // Host access to the instance's memory outside host calls (e.g. to place OPA input).
  virtual Caller& caller() = 0;
};
using InstancePtr = std::unique_ptr<Instance>;

struct InstanceOptions {
  const ImportSet* imports = nullptr;
  void* host_data = nullptr;
  // Bounds the start function (and waPC/TinyGo initialisation run as part of instantiation).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // When the module imports its memory (OPA's env.memory), the host creates it with these pages.
  uint32_t imported_memory_min_pages = 2;
};

// How modules are compiled. Optimized compiles everything with the optimising compiler up
// front (slow to load, fastest per call: servers and benchmarks). Fast starts with a baseline
// compiler and optimises hot functions in the background (one-shot runs such as kwctl run).
// The engine is process-wide, so the first engine created decides for the process.
enum class CompileTier { Optimized, Fast };

struct EngineOptions {
  CompileTier tier = CompileTier::Optimized;
  // Cap on each instance's linear memory. Enforced by rewriting the module's declared maximum,
  // so memory.grow fails inside the guest once reached.
  uint64_t max_memory_bytes = 256ull << 20;
  // A folder where compiled code is kept between runs, keyed by the module's sha256 and the
  // engine's version and settings. Empty: compile every time. Engines without a code cache
  // (V8) ignore it.
  std::string code_cache_dir{};
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual Result<CompiledModulePtr> compile(std::span<const uint8_t> wasm) = 0;
  // Creates a fresh instance on the calling thread.
  virtual CallResult<InstancePtr> instantiate(const CompiledModulePtr& module,
                                              const InstanceOptions& options) = 0;
  virtual const EngineOptions& options() const = 0;
  virtual std::string name() const = 0;
};

// The process-wide V8 engine (V8 is initialised once per process).
std::shared_ptr<Engine> createV8Engine(const EngineOptions& options = {});

// A wasmtime engine (builds with KW_WITH_WASMTIME only). All of them share one process-wide
// wasmtime engine; the options apply to what each one compiles and instantiates.
// Both engines in one process: create V8 first. V8's out-of-bounds signal handler does not
// pass on faults that are not its own, while wasmtime's does.
std::shared_ptr<Engine> createWasmtimeEngine(const EngineOptions& options = {});

// Engines by name, for --engine flags: the names this build has, default first.
std::vector<std::string> engineNames();
Result<std::shared_ptr<Engine>> createEngine(std::string_view name,
                                             const EngineOptions& options = {});

std::string_view toString(FailKind kind);

}  // namespace kw::wasm
