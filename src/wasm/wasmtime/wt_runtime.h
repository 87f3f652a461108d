// The process-wide wasmtime engine: one configuration, one pooling allocator (when the address
// space allows one), one epoch.
#pragma once

#include <cstdint>
#include <string>

#include "wasm/wasmtime/wt_handles.h"

namespace kw::wasm::wt {

struct Runtime {
  wasm_engine_t* engine = nullptr;
  // Everything that makes compiled code from this build incompatible with another one: the
  // wasmtime build (crate version and lock file) and our configuration. Keys the code cache.
  std::string settings_id;
  // Instance slots in the pooling allocator; 0 when address space was too short for a pool and
  // instances are allocated on demand (wt_pool_size.h).
  uint32_t pool_slots = 0;

  // Created on first use and never destroyed: compiled modules held by static objects are
  // released during exit, after a function-local static engine would be.
  static Runtime& get();
};

// Advances the engine's epoch now, so running guests check their deadlines.
void tick(const Runtime& runtime);

}  // namespace kw::wasm::wt
