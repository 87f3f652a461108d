#include "wasm/wasmtime/wt_runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "wasm/wasmtime/wt_pool_size.h"

namespace kw::wasm::wt {
namespace {

// Bumped whenever configure() changes in a way that changes generated code.
constexpr const char* kConfigVersion = "cfg1";

// Concurrent instances (each with one memory and at most one table) the pool holds. Each
// memory slot reserves 4 GiB of address space (no bounds checks: guard pages catch
// out-of-bounds accesses), so 1000 slots take 4 TiB of the 128 TiB a process has.
#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer's memory layout has room for about 250 slots (wt_pool_size.h finds that too,
// with a warning, which would then be on every instrumented command's stderr).
constexpr uint32_t kPoolSlots = 250;
#else
constexpr uint32_t kPoolSlots = 1000;
#endif
// What one slot takes of the pool's mapping: the 4 GiB memory reservation, its guard (32 MiB by
// default) and room for wasmtime's rounding. Over-estimated on purpose: the probe must fail
// wherever wasmtime's own mapping would.
constexpr size_t kSlotAddressSpace = (size_t(4) << 30) + (size_t(64) << 20);
// With fewer slots than this the pool would cap concurrent evaluations below what a server with
// many workers runs; instances are then allocated one by one instead, which has no cap.
constexpr uint32_t kMinPoolSlots = 32;
// Slots a module keeps mapped after its instance dies, so the next instance of the same module
// reuses its copy-on-write memory image without mapping it again.
constexpr uint32_t kWarmSlots = 64;
// When an instance dies, the first bytes of its memory are reset in place (memset, or a copy
// from the module's image) and stay resident for the next instance; the rest is handed back
// with madvise, and the next instance takes a page fault (in this VM, a costly one) for every
// page of it that it touches again. Guests keep their hot pages well above the bottom of memory:
// js-demo (QuickJS) has a 1 MiB stack below its data, then a heap above 1.3 MiB. With 256 KiB
// kept, a fresh js-demo evaluation spent a quarter of its time in the kernel (faults, CoW copies,
// madvise) and took 590-630 us; with 2 MiB it takes 415 us in the same run (4 and 8 MiB gain
// nothing more), and small guests are unaffected: only what the memory has is reset, so a
// 192 KiB pod_privileged memory costs the same as before. Every warm slot keeps up to this much
// resident, so it is also what RSS grows by per concurrently used slot.
constexpr size_t kKeepResident = 2 << 20;
constexpr size_t kTableKeepResident = 256 << 10;

// For experiments and benchmarks only: KW_WASMTIME_KEEP_RESIDENT=<bytes> overrides the above.
size_t keepResident() {
  const char* v = std::getenv("KW_WASMTIME_KEEP_RESIDENT");
  return v ? size_t(std::strtoull(v, nullptr, 10)) : kKeepResident;
}

void configurePool(wasm_config_t* config, uint32_t slots) {
  wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
  wasmtime_pooling_allocation_config_total_core_instances_set(pool, slots);
  wasmtime_pooling_allocation_config_total_memories_set(pool, slots);
  wasmtime_pooling_allocation_config_total_tables_set(pool, slots);
  // The per-store limiter enforces each policy's cap; the pool only bounds the wasm32 range.
  wasmtime_pooling_allocation_config_max_memory_size_set(pool, size_t(4) << 30);
  // Go and TinyGo policies have large function tables and instance contexts.
  wasmtime_pooling_allocation_config_table_elements_set(pool, 100'000);
  wasmtime_pooling_allocation_config_max_core_instance_size_set(pool, size_t(8) << 20);
  wasmtime_pooling_allocation_config_max_unused_warm_slots_set(pool, std::min(kWarmSlots, slots));
  wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, keepResident());
  wasmtime_pooling_allocation_config_table_keep_resident_set(pool, kTableKeepResident);
  wasmtime_pooling_allocation_strategy_set(config, pool);
  wasmtime_pooling_allocation_config_delete(pool);
}

// Chooses the pool's size from the address space there is, and says so when it is short.
uint32_t choosePoolSlots() {
  const uint32_t slots =
      poolSlotsThatFit(kPoolSlots, kMinPoolSlots, kSlotAddressSpace, canReserveAddressSpace);
  const size_t gib_per_slot = kSlotAddressSpace >> 30;
  if (slots == 0) {
    spdlog::warn(
        "wasmtime: not enough address space to pool {} instances ({} GiB each, check ulimit -v); "
        "instances are allocated one by one instead, and fresh instances are slower",
        kMinPoolSlots, gib_per_slot);
  } else if (slots < kPoolSlots) {
    spdlog::warn(
        "wasmtime: address space for {} of {} pooled instances ({} GiB each, check ulimit -v); "
        "at most {} evaluations can run at once",
        slots, kPoolSlots, gib_per_slot, slots);
  }
  return slots;
}

wasm_config_t* configure(uint32_t pool_slots) {
  wasm_config_t* config = wasm_config_new();
  // Deadlines: compiled code checks the epoch at function entries and loop headers.
  wasmtime_config_epoch_interruption_set(config, true);
  wasmtime_config_cranelift_opt_level_set(config, WASMTIME_OPT_LEVEL_SPEED);
  // A fresh instance maps its module's memory image copy-on-write instead of copying the data
  // segments (already wasmtime's default: stated because the design depends on it).
  wasmtime_config_memory_init_cow_set(config, true);
#if defined(__SANITIZE_THREAD__)
  // Cranelift's compile threads (rayon) hand work over with Rust atomics, which ThreadSanitizer
  // cannot see, so every parallel compile would be reported as thousands of races inside
  // wasmtime. The TSan build compiles on the calling thread; nothing of ours runs on those
  // threads.
  wasmtime_config_parallel_compilation_set(config, false);
#endif
  if (pool_slots > 0) configurePool(config, pool_slots);
  // For profiling only: KW_WASMTIME_PERFMAP=1 writes /tmp/perf-<pid>.map, so `perf report`
  // names guest functions instead of showing JIT addresses.
  if (std::getenv("KW_WASMTIME_PERFMAP")) {
    wasmtime_config_profiler_set(config, WASMTIME_PROFILING_STRATEGY_PERFMAP);
  }
  return config;
}

}  // namespace

Runtime& Runtime::get() {
  static Runtime* runtime = [] {
    auto* r = new Runtime;
    r->pool_slots = choosePoolSlots();
    r->engine = wasm_engine_new_with_config(configure(r->pool_slots));
    if (!r->engine) std::abort();  // only a broken configuration gets here
    r->settings_id = std::string("wasmtime-") + KW_WASMTIME_BUILD_ID + "-" + kConfigVersion;
    return r;
  }();
  return *runtime;
}

uint32_t poolSlotsInUse() {
  return Runtime::get().pool_slots;
}

void tick(const Runtime& runtime) {
  wasmtime_engine_increment_epoch(runtime.engine);
}

}  // namespace kw::wasm::wt
