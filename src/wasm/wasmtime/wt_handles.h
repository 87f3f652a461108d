// Owning handles for wasmtime's C objects, and the two ways it reports failure (errors and
// traps) turned into strings. Only src/wasm/wasmtime/ includes this (it includes wasmtime.h).
#pragma once

#include <wasmtime.h>

#include <memory>
#include <string>

namespace kw::wasm::wt {

template <typename T, void (*Delete)(T*)>
struct Deleter {
  void operator()(T* p) const { Delete(p); }
};
template <typename T, void (*Delete)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Delete>>;

using ErrorPtr = Owned<wasmtime_error_t, wasmtime_error_delete>;
using TrapPtr = Owned<wasm_trap_t, wasm_trap_delete>;
using ModulePtr = Owned<wasmtime_module_t, wasmtime_module_delete>;
using LinkerPtr = Owned<wasmtime_linker_t, wasmtime_linker_delete>;
using InstancePrePtr = Owned<wasmtime_instance_pre_t, wasmtime_instance_pre_delete>;
using StorePtr = Owned<wasmtime_store_t, wasmtime_store_delete>;
using FuncTypePtr = Owned<wasm_functype_t, wasm_functype_delete>;

inline std::string toString(const wasm_byte_vec_t& v) { return std::string(v.data, v.size); }

inline std::string messageOf(const wasmtime_error_t* error) {
  wasm_byte_vec_t text;
  wasmtime_error_message(error, &text);
  std::string s = toString(text);
  wasm_byte_vec_delete(&text);
  return s;
}

inline std::string messageOf(const wasm_trap_t* trap) {
  wasm_message_t text;
  wasm_trap_message(trap, &text);
  std::string s = toString(text);
  wasm_byte_vec_delete(&text);
  // wasm_message_t is NUL-terminated by convention; the NUL is not part of the text.
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace kw::wasm::wt
