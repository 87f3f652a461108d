// The local policy store, laid out exactly as upstream's policy-fetcher does (spec §3.1):
// <root>/<scheme>/<host[:port]>/<path…>, root defaulting to ~/.cache/kubewarden/store. A store
// written by Kubewarden's kwctl reads as-is, and the other way round.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace kw::store {

struct StoredPolicy {
  std::string uri;  // "registry://ghcr.io/org/policy:v1", "https://host/path/file.wasm"
  std::filesystem::path path;
  std::string sha256;  // hex of the file
  uint64_t size = 0;
};

class Store {
 public:
  // `root` unset: $XDG_CACHE_HOME/kubewarden/store, else ~/.cache/kubewarden/store.
  explicit Store(std::optional<std::filesystem::path> root = std::nullopt);
  static std::filesystem::path defaultRoot();

  const std::filesystem::path& root() const { return root_; }
  // Where `uri` lives in the store (registry:// or http(s):// only).
  Result<std::filesystem::path> pathFor(const std::string& uri) const;
  // Every stored module, sorted by URI.
  Result<std::vector<StoredPolicy>> list() const;
  // A stored policy by exact URI, or by an unambiguous SHA-256 prefix (as kwctl accepts).
  Result<StoredPolicy> find(const std::string& uri_or_sha_prefix) const;
  // Deletes the module and prunes empty folders up to the root.
  Status remove(const std::string& uri_or_sha_prefix) const;

 private:
  std::filesystem::path root_;
};

}  // namespace kw::store
