#include "wasm/wasmtime/wt_errors.h"

namespace kw::wasm::wt {
namespace {

// V8's RuntimeError texts for each trap wasmtime can raise in a core module.
const char* v8Text(wasmtime_trap_code_t code) {
  switch (code) {
    case WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED: return "unreachable";
    case WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS: return "memory access out of bounds";
    case WASMTIME_TRAP_CODE_HEAP_MISALIGNED: return "operation does not support unaligned accesses";
    case WASMTIME_TRAP_CODE_TABLE_OUT_OF_BOUNDS: return "table index is out of bounds";
    case WASMTIME_TRAP_CODE_INDIRECT_CALL_TO_NULL:
    case WASMTIME_TRAP_CODE_BAD_SIGNATURE: return "null function or function signature mismatch";
    case WASMTIME_TRAP_CODE_INTEGER_OVERFLOW: return "divide result unrepresentable";
    case WASMTIME_TRAP_CODE_INTEGER_DIVISION_BY_ZERO: return "divide by zero";
    case WASMTIME_TRAP_CODE_BAD_CONVERSION_TO_INTEGER: return "float unrepresentable in integer range";
    case WASMTIME_TRAP_CODE_NULL_REFERENCE: return "dereferencing a null pointer";
    case WASMTIME_TRAP_CODE_ARRAY_OUT_OF_BOUNDS: return "array element access out of bounds";
    case WASMTIME_TRAP_CODE_ALLOCATION_TOO_LARGE: return "requested new array is too large";
    case WASMTIME_TRAP_CODE_CAST_FAILURE: return "illegal cast";
    default: return nullptr;
  }
}

}  // namespace

std::string trapText(const wasm_trap_t* trap) {
  wasmtime_trap_code_t code;
  if (wasmtime_trap_code(trap, &code)) {
    // V8 reports stack exhaustion as a JS RangeError rather than a wasm RuntimeError.
    if (code == WASMTIME_TRAP_CODE_STACK_OVERFLOW) return "RangeError: Maximum call stack size exceeded";
    if (const char* text = v8Text(code)) return std::string("RuntimeError: ") + text;
  }
  // A trap without a code (raised by a host function) keeps wasmtime's own message.
  return "RuntimeError: " + messageOf(trap);
}

CallError callError(const wasmtime_error_t* error, const wasm_trap_t* trap) {
  if (trap) {
    wasmtime_trap_code_t code;
    if (wasmtime_trap_code(trap, &code) && code == WASMTIME_TRAP_CODE_INTERRUPT) {
      return CallError{FailKind::Timeout, kTimeoutMessage};
    }
    return CallError{FailKind::Trap, trapText(trap)};
  }
  return CallError{FailKind::Trap, error ? messageOf(error) : "unknown error"};
}

}  // namespace kw::wasm::wt
