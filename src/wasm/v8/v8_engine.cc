// The V8 backend of the engine-neutral interface. The only file that includes V8 headers.
//
// Design:
// - V8 is initialised once per process (trap handler on, so bounds checks are guard pages).
// - Each thread that evaluates owns one isolate and one context for its whole life
//   (thread_local). Compiled code is shared across isolates: a module is compiled once into a
//   CompiledWasmModule and each isolate wraps it with FromCompiledModule, which does not
//   recompile.
// - An Instance is a WebAssembly.Instance created from the per-isolate module object. Host
//   functions are API callbacks that find the running instance through a thread_local, so
//   one imports object per (module, isolate) serves every instance.
// - Linear memory is supplied by the host: a module's own memory is rewritten into an import
//   at load time. When an instance dies and its memory never grew, the memory is wiped with
//   madvise(MADV_DONTNEED) (it then reads as zeros, like a fresh one, and its pages go back to
//   the kernel) and kept in a small per-thread pool. Data segments are re-applied by every
//   instantiation, so the next instance cannot tell it from a new memory. This avoids V8's
//   per-memory guard-region reservation (mmap/mprotect/munmap of ~10 GiB of address space),
//   which dominated the cost of a fresh instance and serialised threads in the kernel.
// - Dead instances are otherwise only reclaimed by V8's GC. Memory that grew is not pooled: we
//   count what dead instances still hold and force a collection past a budget, so RSS and the
//   process's wasm address-space reservations stay bounded.
#include <libplatform/libplatform.h>
#include <v8.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sys/mman.h>
#include <mutex>
#include <unordered_map>

#include "kw/wasm/engine.h"
#include "wasm/binary/module_binary.h"
#include "wasm/deadline_watchdog.h"

namespace kw::wasm {
namespace {

constexpr uint64_t kPageSize = 64 * 1024;
// Memories that dead instances still hold (they grew, so they were not pooled) before we force
// a GC on that isolate. Each also holds a guard-region reservation, and V8 caps those per
// process (about a hundred), so the count matters as much as the bytes.
constexpr uint64_t kDeadMemoryBudget = 16ull << 20;
constexpr uint32_t kDeadInstanceBudget = 32;
// Pooled memories up to this size are cleared with memset (their pages stay resident, one
// per module per worker); larger ones with madvise, which keeps RSS flat across workers.
constexpr uint64_t kClearWithMemsetLimit = 256ull << 10;

const char* kTimeoutMessage = "guest code interrupted, execution deadline exceeded";

void initV8Once(CompileTier tier) {
  static std::once_flag once;
  std::call_once(once, [tier] {
    // Optimized: TurboFan only, since a server compiles once and instantiates many times.
    // Fast: Liftoff with dynamic tier-up, for one-shot runs (a 1.7 MB TinyGo policy loads in
    // 0.09 s instead of 3.9 s).
    // A small young generation: each instance leaves only a few KB of JS objects, and every
    // evaluating thread has its own heap, so V8's default 16 MB semi-spaces would make RSS grow
    // with the number of workers for nothing.
    std::string flags = tier == CompileTier::Optimized
                            ? "--no-liftoff --no-wasm-tier-up"
                            : "--liftoff --wasm-tier-up --wasm-dynamic-tiering";
    flags += " --max-semi-space-size=1";
    // For experiments and benchmarks only: extra V8 flags, applied after ours.
    if (const char* extra = std::getenv("KW_V8_FLAGS")) flags += std::string(" ") + extra;
    v8::V8::SetFlagsFromString(flags.c_str(), flags.size());
    // Never destroyed: compiled modules held in static objects are freed during exit, after
    // function-local statics such as a platform would be, and they need its page allocator.
    v8::Platform* platform = v8::platform::NewDefaultPlatform().release();
    v8::V8::InitializePlatform(platform);
    v8::V8::EnableWebAssemblyTrapHandler(true);
    v8::V8::Initialize();
  });
}

std::string toStdString(v8::Isolate* isolate, v8::Local<v8::Value> v) {
  v8::String::Utf8Value s(isolate, v);
  return *s ? std::string(*s, s.length()) : std::string("<unprintable>");
}

class V8CompiledModule;
class V8Instance;

// Per-thread isolate and caches. Entered for the thread's whole life.
class ThreadIsolate {
 public:
  static ThreadIsolate& get() {
    thread_local ThreadIsolate t;
    return t;
  }

  v8::Isolate* isolate() const { return isolate_; }
  v8::Local<v8::Context> context() const { return context_.Get(isolate_); }

  struct ModuleEntry {
    std::weak_ptr<const CompiledModule> owner;
    v8::Global<v8::WasmModuleObject> module;
    const ImportSet* import_set = nullptr;
    v8::Global<v8::Object> imports;
    v8::Global<v8::Object> memory_namespace;  // set when the module imports its memory
    std::string memory_import_name;
  };
  std::unordered_map<uint64_t, ModuleEntry> modules;
  v8::Global<v8::Function> instance_ctor;
  v8::Global<v8::Function> memory_ctor;
  V8Instance* current = nullptr;

  // Wiped memories ready for reuse, keyed by (initial pages, maximum pages).
  using MemoryKey = std::pair<uint64_t, uint64_t>;
  std::map<MemoryKey, std::vector<v8::Global<v8::WasmMemoryObject>>> memory_pool;
  // A thread runs one evaluation at a time, so one pooled memory per shape is enough; more
  // would only keep resident pages per worker and make RSS grow with --workers.
  static constexpr size_t kPoolPerKey = 1;

  // Called for memories that were not pooled.
  void noteDeadMemory(uint64_t memory_bytes) {
    dead_bytes_ += memory_bytes;
    if (++dead_instances_ >= kDeadInstanceBudget || dead_bytes_ >= kDeadMemoryBudget) {
      dead_bytes_ = 0;
      dead_instances_ = 0;
      // The embedder's public way to ask for a full collection now, on this (the isolate's)
      // thread; the testing-only request V8 also has is not meant for production.
      isolate_->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
    }
  }

 private:
  ThreadIsolate() {
    create_params_.array_buffer_allocator = v8::ArrayBuffer::Allocator::NewDefaultAllocator();
    isolate_ = v8::Isolate::New(create_params_);
    isolate_->Enter();
    v8::HandleScope scope(isolate_);
    auto ctx = v8::Context::New(isolate_);
    ctx->Enter();
    context_.Reset(isolate_, ctx);
    auto wasm = ctx->Global()
                    ->Get(ctx, v8::String::NewFromUtf8Literal(isolate_, "WebAssembly"))
                    .ToLocalChecked()
                    .As<v8::Object>();
    auto getCtor = [&](const char* name) {
      return wasm->Get(ctx, v8::String::NewFromUtf8(isolate_, name).ToLocalChecked())
          .ToLocalChecked()
          .As<v8::Function>();
    };
    instance_ctor.Reset(isolate_, getCtor("Instance"));
    memory_ctor.Reset(isolate_, getCtor("Memory"));
  }

  ~ThreadIsolate() {
    modules.clear();
    memory_pool.clear();
    instance_ctor.Reset();
    memory_ctor.Reset();
    {
      v8::HandleScope scope(isolate_);
      context_.Get(isolate_)->Exit();
    }
    context_.Reset();
    isolate_->Exit();
    isolate_->Dispose();
    delete create_params_.array_buffer_allocator;
  }

  v8::Isolate::CreateParams create_params_;
  v8::Isolate* isolate_ = nullptr;
  v8::Global<v8::Context> context_;
  uint64_t dead_bytes_ = 0;
  uint32_t dead_instances_ = 0;
};

class V8CompiledModule : public CompiledModule {
 public:
  V8CompiledModule(uint64_t id, v8::CompiledWasmModule compiled, std::vector<ModuleImport> imports,
                   std::vector<std::string> exports, std::optional<binary::MemoryLimits> memory)
      : id_(id),
        compiled_(std::move(compiled)),
        imports_(std::move(imports)),
        exports_(std::move(exports)),
        memory_(memory) {}

  const std::vector<ModuleImport>& imports() const override { return imports_; }
  const std::vector<std::string>& exports() const override { return exports_; }
  uint64_t id() const { return id_; }
  const v8::CompiledWasmModule& compiled() const { return compiled_; }
  const std::optional<binary::MemoryLimits>& memory() const { return memory_; }

 private:
  uint64_t id_;
  v8::CompiledWasmModule compiled_;
  std::vector<ModuleImport> imports_;
  std::vector<std::string> exports_;
  std::optional<binary::MemoryLimits> memory_;
};

// Sets the thread's running instance for the duration of a guest call, restoring the previous
// one so re-entrant calls are attributed correctly.
class CurrentInstanceScope {
 public:
  CurrentInstanceScope(ThreadIsolate& t, V8Instance* inst) : t_(t), saved_(t.current) {
    t.current = inst;
  }
  ~CurrentInstanceScope() { t_.current = saved_; }

 private:
  ThreadIsolate& t_;
  V8Instance* saved_;
};

class V8Instance : public Instance, public Caller {
 public:
  V8Instance(ThreadIsolate& t, void* host_data, ThreadIsolate::MemoryKey key)
      : t_(t), host_data_(host_data), memory_key_(key) {}

  ~V8Instance() override {
    if (!memory_.IsEmpty()) {
      v8::HandleScope scope(t_.isolate());
      auto buf = memory_.Get(t_.isolate())->Buffer();
      uint64_t bytes = buf->ByteLength();
      if (!recycle(buf->Data(), bytes)) {
        // Nothing runs in this memory again, but V8 frees it only at the next GC: hand its
        // pages back now, so RSS does not grow with dead instances (or with --workers).
        if (bytes) madvise(buf->Data(), bytes, MADV_DONTNEED);
        t_.noteDeadMemory(bytes);
      }
    }
    instance_.Reset();
    exports_.Reset();
    memory_.Reset();
  }

  // --- Caller ---
  std::optional<std::span<uint8_t>> memory(uint64_t ptr, uint64_t len) override {
    if (memory_.IsEmpty()) return std::nullopt;
    if (ptr > UINT32_MAX || len > UINT32_MAX || ptr + len > UINT32_MAX) return std::nullopt;
    v8::HandleScope scope(t_.isolate());
    auto buf = memory_.Get(t_.isolate())->Buffer();
    uint64_t size = buf->ByteLength();
    if (ptr + len > size) return std::nullopt;
    return std::span<uint8_t>(static_cast<uint8_t*>(buf->Data()) + ptr, len);
  }
  void* hostData() override { return host_data_; }
  void fail(FailKind kind, std::string message, int32_t exit_code) override {
    if (pending_) return;
    pending_ = CallError{kind, std::move(message), exit_code};
  }

  // --- Instance ---
  Caller& caller() override { return *this; }

  CallResult<std::vector<Value>> call(std::string_view name, std::span<const Value> args,
                                      std::chrono::steady_clock::time_point deadline) override {
    v8::Isolate* isolate = t_.isolate();
    v8::HandleScope scope(isolate);
    auto ctx = t_.context();
    v8::Local<v8::Value> fv;
    auto key = v8::String::NewFromUtf8(isolate, name.data(), v8::NewStringType::kNormal,
                                       int(name.size()))
                   .ToLocalChecked();
    if (!exports_.Get(isolate)->Get(ctx, key).ToLocal(&fv) || !fv->IsFunction()) {
      return CallError{FailKind::NotFound, "cannot find `" + std::string(name) + "` export"};
    }
    std::vector<v8::Local<v8::Value>> argv;
    argv.reserve(args.size());
    for (const Value& a : args) argv.push_back(toJs(isolate, a));
    v8::Local<v8::Value> result;
    auto err = guarded(deadline, [&] {
      return fv.As<v8::Function>()
          ->Call(ctx, v8::Undefined(isolate), int(argv.size()), argv.data())
          .ToLocal(&result);
    });
    if (err) return *err;
    return fromJs(result);
  }

  // Creates the WebAssembly.Instance; host functions may run (start function).
  std::optional<CallError> instantiate(v8::Local<v8::Object> module,
                                       v8::Local<v8::Object> imports,
                                       v8::Local<v8::Object> imported_memory,
                                       std::chrono::steady_clock::time_point deadline) {
    v8::Isolate* isolate = t_.isolate();
    auto ctx = t_.context();
    v8::Local<v8::Object> instance;
    v8::Local<v8::Value> argv[2] = {module, imports};
    auto err = guarded(deadline, [&] {
      return t_.instance_ctor.Get(isolate)->NewInstance(ctx, 2, argv).ToLocal(&instance);
    });
    if (err) {
      if (err->kind == FailKind::Trap) err->kind = FailKind::Instantiate;
      return err;
    }
    auto exports = instance
                       ->Get(ctx, v8::String::NewFromUtf8Literal(isolate, "exports"))
                       .ToLocalChecked()
                       .As<v8::Object>();
    instance_.Reset(isolate, instance);
    exports_.Reset(isolate, exports);
    v8::Local<v8::Value> mem = imported_memory;
    if (mem.IsEmpty()) {
      if (!exports->Get(ctx, v8::String::NewFromUtf8Literal(isolate, "memory")).ToLocal(&mem)) {
        mem.Clear();
      }
    }
    if (!mem.IsEmpty() && mem->IsWasmMemoryObject()) {
      memory_.Reset(isolate, mem.As<v8::WasmMemoryObject>());
    }
    return std::nullopt;
  }

  // Returns the memory to the pool when it is still at its initial size, zeroed as a fresh
  // memory is. Small memories are cleared with memset: their pages stay mapped, and each page
  // fault we avoid costs more than clearing it (page faults are dear in a VM). Large ones are
  // dropped with MADV_DONTNEED, which hands the pages back and makes them read as zeros.
  bool recycle(void* data, uint64_t bytes) {
    if (bytes != memory_key_.first * kPageSize) return false;
    auto& pool = t_.memory_pool[memory_key_];
    if (pool.size() >= ThreadIsolate::kPoolPerKey) return false;
    if (bytes <= kClearWithMemsetLimit) {
      std::memset(data, 0, bytes);
    } else if (madvise(data, bytes, MADV_DONTNEED) != 0) {
      return false;
    }
    pool.emplace_back(t_.isolate(), memory_.Get(t_.isolate()));
    return true;
  }

  std::optional<CallError> takePending() {
    auto p = std::move(pending_);
    pending_.reset();
    return p;
  }
  bool hasPending() const { return pending_.has_value(); }

 private:
  // Runs `body` (a V8 call) under the deadline and turns exceptions into CallErrors. The
  // termination request is always cancelled afterwards: once disarm() returns the watchdog
  // can no longer fire, so no stale termination can hit the next call on this isolate.
  template <typename F>
  std::optional<CallError> guarded(std::chrono::steady_clock::time_point deadline, F&& body) {
    v8::Isolate* isolate = t_.isolate();
    v8::TryCatch tc(isolate);
    CurrentInstanceScope current(t_, this);
    pending_.reset();
    DeadlineWatchdog::Ticket ticket = 0;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      ticket = DeadlineWatchdog::instance().arm(deadline,
                                                [isolate] { isolate->TerminateExecution(); });
    }
    bool ok = body();
    bool fired = ticket && DeadlineWatchdog::instance().disarm(ticket);
    if (fired) isolate->CancelTerminateExecution();
    if (pending_) return takePending();
    if (ok) return std::nullopt;  // a deadline that fired after completion changes nothing
    if (fired || tc.HasTerminated()) return CallError{FailKind::Timeout, kTimeoutMessage};
    std::string message = tc.HasCaught() ? toStdString(isolate, tc.Exception()) : "unknown error";
    return CallError{FailKind::Trap, std::move(message)};
  }

  static v8::Local<v8::Value> toJs(v8::Isolate* isolate, const Value& v) {
    switch (v.type) {
      case ValType::I32: return v8::Integer::New(isolate, v.i32);
      case ValType::I64: return v8::BigInt::New(isolate, v.i64);
      case ValType::F32: return v8::Number::New(isolate, v.f32);
      case ValType::F64: return v8::Number::New(isolate, v.f64);
    }
    return v8::Undefined(isolate);
  }

  std::vector<Value> fromJs(v8::Local<v8::Value> v) {
    std::vector<Value> out;
    if (v.IsEmpty() || v->IsUndefined()) return out;
    if (v->IsInt32()) out.push_back(Value::fromI32(v.As<v8::Int32>()->Value()));
    else if (v->IsBigInt()) out.push_back(Value::fromI64(v.As<v8::BigInt>()->Int64Value()));
    else if (v->IsNumber()) out.push_back(Value::fromF64(v.As<v8::Number>()->Value()));
    return out;
  }

  ThreadIsolate& t_;
  void* host_data_;
  v8::Global<v8::Object> instance_;
  v8::Global<v8::Object> exports_;
  v8::Global<v8::WasmMemoryObject> memory_;
  std::optional<CallError> pending_;
  ThreadIsolate::MemoryKey memory_key_;
};

// The API callback behind every host function. Arguments arrive as JS values typed by the
// import's signature; a failure recorded through Caller::fail unwinds the guest with an
// exception that the enclosing guarded() call turns back into a CallError.
void hostTrampoline(const v8::FunctionCallbackInfo<v8::Value>& info) {
  auto* fn = static_cast<const HostFunction*>(info.Data().As<v8::External>()->Value());
  v8::Isolate* isolate = info.GetIsolate();
  V8Instance* inst = ThreadIsolate::get().current;
  if (!inst) {
    isolate->ThrowException(v8::String::NewFromUtf8Literal(isolate, "host call outside guest"));
    return;
  }
  auto ctx = isolate->GetCurrentContext();
  Value args[16];
  size_t n = std::min<size_t>(fn->type.params.size(), 16);
  for (size_t i = 0; i < n; ++i) {
    v8::Local<v8::Value> a = info[int(i)];
    switch (fn->type.params[i]) {
      case ValType::I32: args[i] = Value::fromI32(a->Int32Value(ctx).FromMaybe(0)); break;
      case ValType::I64:
        args[i] = Value::fromI64(a->IsBigInt() ? a.As<v8::BigInt>()->Int64Value() : 0);
        break;
      case ValType::F32: args[i] = Value::fromF32(float(a->NumberValue(ctx).FromMaybe(0))); break;
      case ValType::F64: args[i] = Value::fromF64(a->NumberValue(ctx).FromMaybe(0)); break;
    }
  }
  std::vector<Value> results = fn->callback(*inst, std::span<const Value>(args, n));
  if (inst->hasPending()) {
    isolate->ThrowException(v8::String::NewFromUtf8Literal(isolate, "host function failed"));
    return;
  }
  if (!results.empty()) {
    const Value& r = results[0];
    switch (r.type) {
      case ValType::I32: info.GetReturnValue().Set(r.i32); break;
      case ValType::I64: info.GetReturnValue().Set(v8::BigInt::New(isolate, r.i64)); break;
      case ValType::F32: info.GetReturnValue().Set(double(r.f32)); break;
      case ValType::F64: info.GetReturnValue().Set(r.f64); break;
    }
  }
}

class V8Engine : public Engine {
 public:
  explicit V8Engine(EngineOptions options) : options_(options) { initV8Once(options.tier); }

  const EngineOptions& options() const override { return options_; }
  std::string name() const override { return "v8"; }

  Result<CompiledModulePtr> compile(std::span<const uint8_t> wasm) override {
    if (!binary::isWasm(wasm)) return makeError("not a WebAssembly module (bad magic or version)");
    auto imported = binary::withImportedMemory(wasm, "kw", "memory");
    if (!imported) return imported.error();
    auto capped = binary::withMemoryCap(*imported, capPages());
    if (!capped) return capped.error();
    auto info = binary::parse(*capped);
    if (!info) return info.error();

    ThreadIsolate& t = ThreadIsolate::get();
    v8::Isolate* isolate = t.isolate();
    v8::HandleScope scope(isolate);
    v8::TryCatch tc(isolate);
    v8::Local<v8::WasmModuleObject> module;
    if (!v8::WasmModuleObject::Compile(isolate, {capped->data(), capped->size()})
             .ToLocal(&module)) {
      std::string why = tc.HasCaught() ? toStdString(isolate, tc.Exception()) : "unknown error";
      return makeError("invalid WebAssembly module: " + why);
    }
    std::vector<ModuleImport> imports;
    for (const auto& im : info->imports) {
      imports.push_back({im.module, im.name, static_cast<ModuleImport::Kind>(im.kind)});
    }
    std::vector<std::string> exports;
    for (const auto& ex : info->exports) exports.push_back(ex.name);
    static std::atomic<uint64_t> next_id{1};
    auto compiled = std::make_shared<V8CompiledModule>(
        next_id++, module->GetCompiledModule(), std::move(imports), std::move(exports),
        info->memory);
    return CompiledModulePtr(compiled);
  }

  CallResult<InstancePtr> instantiate(const CompiledModulePtr& module,
                                      const InstanceOptions& options) override {
    auto* m = static_cast<const V8CompiledModule*>(module.get());
    ThreadIsolate& t = ThreadIsolate::get();
    v8::Isolate* isolate = t.isolate();
    v8::HandleScope scope(isolate);
    auto entry = moduleEntry(t, module, options.imports);
    if (std::holds_alternative<CallError>(entry)) return std::get<CallError>(entry);
    ThreadIsolate::ModuleEntry* e = std::get<ThreadIsolate::ModuleEntry*>(entry);

    v8::Local<v8::Object> memory;
    ThreadIsolate::MemoryKey key{0, 0};
    if (!e->memory_namespace.IsEmpty()) {
      key = memoryKey(m, options.imported_memory_min_pages);
      auto mem = takeMemory(t, key);
      if (std::holds_alternative<CallError>(mem)) return std::get<CallError>(mem);
      memory = std::get<v8::Local<v8::Object>>(mem);
      e->memory_namespace.Get(isolate)
          ->Set(t.context(),
                v8::String::NewFromUtf8(isolate, e->memory_import_name.c_str()).ToLocalChecked(),
                memory)
          .Check();
    }
    auto inst = std::make_unique<V8Instance>(t, options.host_data, key);
    auto err =
        inst->instantiate(e->module.Get(isolate), e->imports.Get(isolate), memory, options.deadline);
    if (err) return *err;
    return InstancePtr(std::move(inst));
  }

 private:
  uint64_t capPages() const { return std::max<uint64_t>(1, options_.max_memory_bytes / kPageSize); }

  // Modules converted by withImportedMemory start at their declared minimum; modules that
  // import memory themselves (OPA) get at least `min_pages`, as upstream hosts give them.
  ThreadIsolate::MemoryKey memoryKey(const V8CompiledModule* m, uint32_t min_pages) const {
    bool converted = false;
    for (const auto& im : m->imports()) {
      converted |= im.kind == ModuleImport::Kind::Memory && im.module == "kw";
    }
    uint64_t declared = m->memory() ? m->memory()->min_pages : 0;
    uint64_t initial = converted ? declared : std::max<uint64_t>(min_pages, declared);
    uint64_t maximum = capPages();
    if (m->memory() && m->memory()->max_pages) maximum = std::min(maximum, *m->memory()->max_pages);
    return {std::min(initial, maximum), maximum};
  }

  std::variant<v8::Local<v8::Object>, CallError> takeMemory(ThreadIsolate& t,
                                                            ThreadIsolate::MemoryKey key) {
    v8::Isolate* isolate = t.isolate();
    auto pooled = t.memory_pool.find(key);
    if (pooled != t.memory_pool.end() && !pooled->second.empty()) {
      auto mem = pooled->second.back().Get(isolate);
      pooled->second.pop_back();
      return v8::Local<v8::Object>(mem);
    }
    auto ctx = t.context();
    auto desc = v8::Object::New(isolate);
    desc->Set(ctx, v8::String::NewFromUtf8Literal(isolate, "initial"),
              v8::Number::New(isolate, double(key.first)))
        .Check();
    desc->Set(ctx, v8::String::NewFromUtf8Literal(isolate, "maximum"),
              v8::Number::New(isolate, double(key.second)))
        .Check();
    v8::TryCatch tc(isolate);
    v8::Local<v8::Value> argv[1] = {desc};
    v8::Local<v8::Object> mem;
    if (!t.memory_ctor.Get(isolate)->NewInstance(ctx, 1, argv).ToLocal(&mem)) {
      return CallError{FailKind::Instantiate,
                       "cannot allocate guest memory: " + toStdString(isolate, tc.Exception())};
    }
    return mem;
  }

  // The per-isolate module object and imports object, built on first use in this thread.
  std::variant<ThreadIsolate::ModuleEntry*, CallError> moduleEntry(ThreadIsolate& t,
                                                                   const CompiledModulePtr& module,
                                                                   const ImportSet* set) {
    auto* m = static_cast<const V8CompiledModule*>(module.get());
    auto it = t.modules.find(m->id());
    if (it != t.modules.end() && it->second.import_set == set) return &it->second;
    if (it == t.modules.end()) sweepExpired(t);

    v8::Isolate* isolate = t.isolate();
    auto ctx = t.context();
    ThreadIsolate::ModuleEntry e;
    e.owner = module;
    e.import_set = set;
    v8::Local<v8::WasmModuleObject> obj;
    if (!v8::WasmModuleObject::FromCompiledModule(isolate, m->compiled()).ToLocal(&obj)) {
      return CallError{FailKind::Instantiate, "cannot load the compiled module in this thread"};
    }
    e.module.Reset(isolate, obj);
    auto imports = v8::Object::New(isolate);
    auto ns = [&](const std::string& name) {
      auto key = v8::String::NewFromUtf8(isolate, name.c_str()).ToLocalChecked();
      v8::Local<v8::Value> v;
      if (imports->Get(ctx, key).ToLocal(&v) && v->IsObject()) return v.As<v8::Object>();
      auto o = v8::Object::New(isolate);
      imports->Set(ctx, key, o).Check();
      return o;
    };
    for (const ModuleImport& im : m->imports()) {
      auto key = v8::String::NewFromUtf8(isolate, im.name.c_str()).ToLocalChecked();
      if (im.kind == ModuleImport::Kind::Memory) {
        e.memory_namespace.Reset(isolate, ns(im.module));
        e.memory_import_name = im.name;
        continue;
      }
      const HostFunction* fn = set ? set->find(im.module, im.name) : nullptr;
      if (im.kind != ModuleImport::Kind::Function || !fn) {
        return CallError{FailKind::Instantiate,
                         "module imports `" + im.module + "`.`" + im.name +
                             "`, which this runtime does not provide"};
      }
      auto data = v8::External::New(isolate, const_cast<HostFunction*>(fn));
      auto f = v8::Function::New(ctx, hostTrampoline, data, int(fn->type.params.size()))
                   .ToLocalChecked();
      ns(im.module)->Set(ctx, key, f).Check();
    }
    e.imports.Reset(isolate, imports);
    auto [pos, _] = t.modules.insert_or_assign(m->id(), std::move(e));
    return &pos->second;
  }

  static void sweepExpired(ThreadIsolate& t) {
    std::erase_if(t.modules, [](const auto& kv) { return kv.second.owner.expired(); });
  }

  EngineOptions options_;
};

}  // namespace

std::shared_ptr<Engine> createV8Engine(const EngineOptions& options) {
  return std::make_shared<V8Engine>(options);
}

}  // namespace kw::wasm
