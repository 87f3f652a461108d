// Writes a download to a temporary file beside its destination while hashing it, then fsyncs
// and renames it into place. On any failure the temporary file and any folder created for it
// are removed, so the destination (a store, or kwctl's -o path) is left as it was.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "common/result.h"

namespace kw::oci {

using ByteSink = std::function<bool(const char* data, size_t size)>;

struct AtomicWriteOptions {
  std::optional<std::string> expected_digest;  // "sha256:<hex>": verified before the rename
  bool require_wasm_magic = false;             // the content must start with "\0asm"
  std::string what;                            // names the content in errors
};

struct WrittenFile {
  std::string digest;  // "sha256:<hex>"
  uint64_t size = 0;
};

// `fill` drives the transfer, passing every chunk to the sink it is given.
Result<WrittenFile> writeAtomically(const std::filesystem::path& dest,
                                    const std::function<Status(const ByteSink&)>& fill,
                                    const AtomicWriteOptions& options);

}  // namespace kw::oci
