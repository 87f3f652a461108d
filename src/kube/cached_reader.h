// ResourceReader served from memory: one Reflector per resource type (started at boot with
// start()/waitForSync(), or on first use), shared by every worker. Lists are built by
// concatenating the stored JSON texts; get_resource keeps upstream 1.10's 5 s cache.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kube/client.h"
#include "kube/reflector.h"
#include "kube/resource_reader.h"

namespace kw::kube {

class CachedReader : public ResourceReader {
 public:
  struct Options {
    std::chrono::milliseconds get_ttl{5000};
    // How long a list call waits for a type's first sync when it was not started eagerly.
    std::chrono::milliseconds first_sync_timeout{30000};
    Reflector::Options reflector;
  };

  CachedReader(std::shared_ptr<Client> client, Options options);
  explicit CachedReader(std::shared_ptr<Client> client)
      : CachedReader(std::move(client), Options{}) {}
  ~CachedReader() override;

  // Resolves every type through discovery and starts its reflector.
  Status start(const std::vector<ResourceKey>& keys);
  // Error names the types still unsynced and their last error.
  Status waitForSync(std::chrono::milliseconds timeout);

  Result<std::string> listByNamespace(const ResourceKey& key, std::string_view ns,
                                      const Selectors& selectors) override;
  Result<std::string> listAll(const ResourceKey& key, const Selectors& selectors) override;
  Result<std::string> get(const ResourceKey& key, std::string_view name, std::string_view ns,
                          bool disable_cache) override;
  Result<ResourceType> describe(const ResourceKey& key) override;
  Status forEach(const ResourceKey& key, const Visitor& visit) override;

  // The reflector of a type (started on demand), for tests and diagnostics.
  Result<std::shared_ptr<Reflector>> reflector(const ResourceKey& key);

 private:
  Result<std::shared_ptr<Reflector>> syncedReflector(const ResourceKey& key);
  Result<std::string> list(const ResourceKey& key, std::string_view ns, bool by_namespace,
                           const Selectors& selectors);

  struct CachedGet {
    std::chrono::steady_clock::time_point expires;
    std::shared_ptr<const std::string> json;
  };
  using GetKey = std::tuple<ResourceKey, std::string, std::string>;

  std::shared_ptr<Client> client_;
  Options options_;
  std::mutex mu_;
  std::map<ResourceKey, std::shared_ptr<Reflector>> reflectors_;
  std::mutex get_mu_;
  std::map<GetKey, CachedGet> gets_;
};

// `{"apiVersion":…,"kind":"<Kind>List","metadata":{"resourceVersion":…},"items":[…]}` from
// already-serialised items, with one allocation.
std::string buildList(const ResourceKey& key, const std::string& resource_version,
                      const std::vector<const std::string*>& items);

}  // namespace kw::kube
