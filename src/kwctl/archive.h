// kwctl save / load: store entries packed into a .tar.gz under their store-relative paths
// (registry/<host>/<repo>:<tag>), so `load` on another machine recreates the same URIs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace kw::kwctl {

// Writes `output` atomically (temporary file beside it, then rename).
Status saveArchive(const store::Store& store, const std::vector<std::string>& policies,
                   const std::filesystem::path& output);
// Checks every entry before writing any: only regular files with relative paths that stay
// inside the store. Each file lands through a temporary file and a rename. Returns the
// store-relative paths loaded.
Result<std::vector<std::string>> loadArchive(const store::Store& store,
                                             const std::filesystem::path& input);

// True when `entry` is a relative path without `..` components (and not empty).
bool isSafeEntryPath(const std::string& entry);

}  // namespace kw::kwctl
