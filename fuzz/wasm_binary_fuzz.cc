// The engine-free wasm binary reader and rewriter (src/wasm/binary/module_binary.cc) and the
// metadata section reader on top of it (policy::readMetadata): what runs on every module a user
// or registry hands us, before any engine validates it. Each rewrite of a module the reader
// accepts must again be a module the reader accepts, with the promised change.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "fuzz_common.h"
#include "policy/metadata.h"
#include "wasm/binary/module_binary.h"

namespace {

namespace bin = kw::wasm::binary;

void rewrites(std::span<const uint8_t> module) {
  constexpr std::string_view kName = "io.kubewarden.metadata";
  constexpr std::string_view kPayload = "{\"rules\":[],\"mutating\":false}";
  auto with_section = bin::withCustomSection(module, kName, kPayload);
  if (with_section) {
    KW_FUZZ_CHECK(bin::parse(*with_section).ok());
    KW_FUZZ_CHECK(bin::customSection(*with_section, kName) == std::string(kPayload));
  }
  auto capped = bin::withMemoryCap(module, 16);
  if (capped) {
    auto info = bin::parse(*capped);
    KW_FUZZ_CHECK(info.ok());
    if (info->memory && info->memory->max_pages) KW_FUZZ_CHECK(*info->memory->max_pages <= 16);
  }
  auto imported = bin::withImportedMemory(module, "host", "memory");
  if (imported) {
    auto info = bin::parse(*imported);
    KW_FUZZ_CHECK(info.ok());
    if (info->memory) KW_FUZZ_CHECK(info->memory->imported);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  (void)bin::isWasm(bytes);
  (void)kw::policy::readMetadata(bytes);
  if (bin::parse(bytes).ok()) rewrites(bytes);
  return 0;
}
