// The process-wide wasmtime engine: one configuration, one pooling allocator, one epoch.
#pragma once

#include <string>

#include "wasm/wasmtime/wt_handles.h"

namespace kw::wasm::wt {

struct Runtime {
  wasm_engine_t* engine = nullptr;
  // Everything that makes compiled code from this build incompatible with another one: the
  // wasmtime build (crate version and lock file) and our configuration. Keys the code cache.
  std::string settings_id;

  // Created on first use and never destroyed: compiled modules held by static objects are
  // released during exit, after a function-local static engine would be.
  static Runtime& get();
};

// Advances the engine's epoch now, so running guests check their deadlines.
void tick(const Runtime& runtime);

}  // namespace kw::wasm::wt
