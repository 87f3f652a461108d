// Turns a policy URL into a module file on disk; the one implementation used by kwctl and the
// policy-server. Schemes: registry:// (OCI), https:// (http:// only for insecure sources),
// file:// and plain paths. Downloads land in a store layout (store::Store) through a temporary
// file and an atomic rename, so a failed fetch leaves nothing behind.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "oci/registry_client.h"
#include "store/store.h"

namespace kw::oci {
class HttpTransport;
}

namespace kw::fetch {

struct Fetched {
  std::filesystem::path path;  // the module on disk
  bool downloaded = false;     // false for local files and for store hits that were kept
};

class Fetcher {
 public:
  Fetcher(oci::ClientOptions options, store::Store store);
  ~Fetcher();

  // Downloads (or, for local files, locates) `url`. Remote modules go to
  // `store().pathFor(url)`; `output` overrides the destination (kwctl pull -o; a folder gets
  // the URL's last segment as file name). As upstream does, a store entry that already exists
  // is kept without network access, except for registry `:latest` tags, which are re-pulled,
  // and digest-pinned references, whose entry is re-hashed against the pinned manifest's layer
  // (and pulled again when it differs).
  Result<Fetched> fetch(const std::string& url, const std::filesystem::path& output = {});
  // A local path, file:// URL, a URI already in the store, or a store SHA-256 prefix, resolved
  // without network access; for run/bench/inspect of already-pulled policies.
  Result<std::filesystem::path> resolveLocal(const std::string& uri_or_sha_prefix) const;

  const store::Store& store() const { return store_; }
  oci::RegistryClient& registry() { return registry_; }

 private:
  Result<bool> storedMatches(const std::optional<oci::Reference>& ref,
                             const std::filesystem::path& stored);
  Status downloadHttp(const std::string& url, const std::filesystem::path& dest);

  oci::ClientOptions options_;
  store::Store store_;
  oci::RegistryClient registry_;
  std::unique_ptr<oci::HttpTransport> http_;
};

}  // namespace kw::fetch
