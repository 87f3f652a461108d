// Turns a policy URL into a module file on disk; the one implementation used by kwctl and the
// policy-server. Schemes: registry:// (OCI), https:// (http:// only for insecure sources),
// file:// and plain paths. Downloads land in a store layout (store::Store) through a temporary
// file and an atomic rename, so a failed fetch leaves nothing behind.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "oci/registry_client.h"
#include "store/store.h"

namespace kw::fetch {

struct Fetched {
  std::filesystem::path path;  // the module on disk
  bool downloaded = false;     // false for local files
};

class Fetcher {
 public:
  Fetcher(oci::ClientOptions options, store::Store store);

  // Downloads (or, for local files, locates) `url`. Remote modules go to
  // `store().pathFor(url)`; `output` overrides the destination (kwctl pull -o).
  Result<Fetched> fetch(const std::string& url,
                        const std::filesystem::path& output = {});
  // A local path, file:// URL, a URI already in the store, or a store SHA-256 prefix, resolved
  // without network access; for run/bench/inspect of already-pulled policies.
  Result<std::filesystem::path> resolveLocal(const std::string& uri_or_sha_prefix) const;

  const store::Store& store() const { return store_; }
  oci::RegistryClient& registry() { return registry_; }

 private:
  oci::ClientOptions options_;
  store::Store store_;
  oci::RegistryClient registry_;
};

}  // namespace kw::fetch
