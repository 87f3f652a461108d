// Reading whole files that users name on the command line or in configuration: policies.yml,
// sources.yml, verification configs, kubeconfigs, request and settings files, policy modules.
// Each read is bounded and refuses what is not a file, so a folder given by mistake gets a clear
// message instead of an exception, and /dev/zero or a huge file cannot exhaust memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.h"

namespace kw {

// Limits by kind of content: text (configuration, requests, keys) and Wasm modules.
inline constexpr uint64_t kMaxTextFileBytes = 64u << 20;
inline constexpr uint64_t kMaxModuleBytes = 512u << 20;

// The whole of `path`, at most `max_bytes`. Errors name the path: "cannot read <path>: <OS
// reason>", "<path> is a directory, not a file", "<path> is larger than <max_bytes> bytes".
// Devices and pipes are read like files, up to the same limit.
Result<std::string> readFileBounded(const std::filesystem::path& path,
                                    uint64_t max_bytes = kMaxTextFileBytes);

// A policy module: as readFileBounded with kMaxModuleBytes, but a device (/dev/zero,
// /dev/urandom) is refused before reading, "<path> is a device, not a WebAssembly module", rather
// than after half a gigabyte. Pipes (`<(curl …)`) are still read.
Result<std::string> readModuleFile(const std::filesystem::path& path);

// Standard input, at most `max_bytes`; `what` names it in errors ("the request on stdin").
Result<std::string> readStdinBounded(const std::string& what,
                                     uint64_t max_bytes = kMaxTextFileBytes);

}  // namespace kw
