// Compiled modules kept on disk between runs, so a server or kwctl loads a policy's machine code
// instead of compiling it again. Entries live in <dir>/<settings id>/<module sha256>.cwasm: the
// settings id names the wasmtime build and our configuration, so code from another build is
// never even looked at, and old builds' folders can be deleted as a whole.
//
// wasmtime trusts what it deserialises, so every entry carries a checksum of its payload and is
// checked before use. A corrupt, truncated or foreign entry is deleted and compiled again.
#pragma once

#include <filesystem>
#include <string>

#include "wasm/wasmtime/wt_handles.h"

namespace kw::wasm::wt {

class CodeCache {
 public:
  CodeCache(std::filesystem::path dir, const std::string& settings_id);

  // The module compiled earlier from bytes with this sha256, or null (then the entry, if any,
  // was unusable and has been removed).
  ModulePtr load(wasm_engine_t* engine, const std::string& sha256) const;
  // Best effort: a cache that cannot be written only costs a compile next time.
  void store(const std::string& sha256, const wasmtime_module_t* module) const;

 private:
  std::filesystem::path entryPath(const std::string& sha256) const;

  std::filesystem::path dir_;
  std::string settings_id_;
};

}  // namespace kw::wasm::wt
