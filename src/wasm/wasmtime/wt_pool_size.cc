#include "wasm/wasmtime/wt_pool_size.h"

#include <sys/mman.h>

#include <limits>

namespace kw::wasm::wt {

uint32_t poolSlotsThatFit(uint32_t wanted, uint32_t minimum, size_t bytes_per_slot,
                          const CanReserve& can_reserve) {
  for (uint32_t slots = wanted; slots >= minimum && slots > 0; slots /= 2) {
    if (bytes_per_slot > std::numeric_limits<size_t>::max() / slots) continue;
    if (can_reserve(size_t(slots) * bytes_per_slot)) return slots;
  }
  return 0;
}

bool canReserveAddressSpace(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  munmap(p, bytes);
  return true;
}

}  // namespace kw::wasm::wt
