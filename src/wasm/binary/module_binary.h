// Reads and rewrites the WebAssembly binary format without an engine: the import and export
// lists, custom sections (Kubewarden's io.kubewarden.metadata lives in one), and the linear
// memory limits we rewrite to cap guest memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kw::wasm::binary {

using Bytes = std::vector<uint8_t>;

struct Import {
  std::string module;
  std::string name;
  uint8_t kind;  // 0 func, 1 table, 2 memory, 3 global
};

struct Export {
  std::string name;
  uint8_t kind;
};

struct MemoryLimits {
  uint64_t min_pages = 0;
  std::optional<uint64_t> max_pages;
  bool imported = false;
};

struct ModuleInfo {
  std::vector<Import> imports;
  std::vector<Export> exports;
  std::vector<std::pair<std::string, std::string>> custom_sections;  // name, payload
  std::optional<MemoryLimits> memory;
};

// True when the bytes start with the wasm magic and version 1.
bool isWasm(std::span<const uint8_t> bytes);

// Walks the section structure. Section bodies other than imports, exports, memory and custom
// sections are skipped, not validated: the engine validates code at compile time.
Result<ModuleInfo> parse(std::span<const uint8_t> bytes);

// The payload of the first custom section with this name.
std::optional<std::string> customSection(std::span<const uint8_t> bytes, std::string_view name);

// A copy of the module with every custom section of that name replaced by one holding `payload`,
// appended at the end.
Result<Bytes> withCustomSection(std::span<const uint8_t> bytes, std::string_view name,
                                std::string_view payload);

// A copy whose (defined or imported) memory declares max_pages no larger than `cap_pages`.
// A module that declares a larger minimum than the cap is refused.
Result<Bytes> withMemoryCap(std::span<const uint8_t> bytes, uint64_t cap_pages);

// A copy in which the module's own (defined) memory becomes an import `module`.`name` with the
// same limits, so the host can supply (and recycle) the linear memory. Index 0 keeps meaning
// the same memory, so exports and data segments are unchanged. Modules that already import
// their memory, or have none, are returned as they are.
Result<Bytes> withImportedMemory(std::span<const uint8_t> bytes, std::string_view module,
                                 std::string_view name);

}  // namespace kw::wasm::binary
