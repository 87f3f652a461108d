// Guest failures from wasmtime in the words the V8 backend uses, so that a policy fails with the
// same message on either engine (Kubewarden's responses carry these texts).
#pragma once

#include <string>

#include "kw/wasm/engine.h"
#include "wasm/wasmtime/wt_handles.h"

namespace kw::wasm::wt {

inline constexpr const char* kTimeoutMessage = "guest code interrupted, execution deadline exceeded";

// The message V8 gives for the same trap ("RuntimeError: unreachable", ...).
std::string trapText(const wasm_trap_t* trap);

// What a guest call or instantiation that returned `error` or `trap` ended with.
CallError callError(const wasmtime_error_t* error, const wasm_trap_t* trap);

}  // namespace kw::wasm::wt
