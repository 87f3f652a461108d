// How many instance slots the pooling allocator can have. wasmtime reserves the address space
// of every slot's memory (a whole wasm32 memory plus its guard) in one mapping when the engine
// is created, and aborts the process when that mapping fails. Where address space is short
// (`ulimit -v`, a container's RLIMIT_AS, ThreadSanitizer's shadow layout, which leaves room for
// about 250 slots), we ask for fewer slots instead, or for no pool at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace kw::wasm::wt {

// True when `bytes` of address space could be reserved now.
using CanReserve = std::function<bool(size_t bytes)>;

// The largest of wanted, wanted/2, wanted/4... not below `minimum` whose slots fit; 0 when
// not even `minimum` slots fit (the caller then allocates instances on demand).
uint32_t poolSlotsThatFit(uint32_t wanted, uint32_t minimum, size_t bytes_per_slot,
                          const CanReserve& can_reserve);

// The slots the process's engine pooled (0: instances are allocated on demand). Creates the
// engine if it does not exist yet.
uint32_t poolSlotsInUse();

// Reserves `bytes` without access or backing (as wasmtime does), and releases them at once.
bool canReserveAddressSpace(size_t bytes);

}  // namespace kw::wasm::wt
