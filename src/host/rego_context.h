// The Kubernetes context a Rego policy evaluates against (spec §2.6), built from the watch
// caches by splicing each object's stored JSON text into place, with no DOM per object:
//   OPA:        {"<plural>": {"<namespace>": {"<name>": obj}}}, or {"<plural>": {"<name>": obj}}
//               for cluster-scoped kinds (kube-mgmt's layout);
//   Gatekeeper: {"cluster": {"<groupVersion>": {"<Kind>": {"<name>": obj}}},
//                "namespace": {"<ns>": {"<groupVersion>": {"<Kind>": {"<name>": obj}}}}}.
// Built texts are cached per (layout, resource set) and reused while the objects are
// unchanged: with a revision probe, until a type's revision moves; without one, for `ttl`.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "host/callback_handler.h"
#include "host/ttl_cache.h"
#include "kube/resource_reader.h"
#include "kw/host/dispatcher.h"

namespace kw::host {

struct RegoContextOptions {
  // A value that changes whenever the cached objects of a type change (e.g. the reflector's
  // last resourceVersion or an event counter); nullopt when unknown. Unset: use `ttl`.
  std::function<std::optional<std::string>(const kube::ResourceKey&)> revision;
  std::chrono::steady_clock::duration ttl = std::chrono::seconds(1);
  Clock clock = steadyClock();
};

// Builds the context text for `resources` from `reader`.
Result<std::string> buildRegoContext(kube::ResourceReader& reader,
                                     const std::set<kube::ResourceKey>& resources,
                                     RegoLayout layout);

// A ResourceReader over typed requests to a CallbackHandler, for sessions that record or replay:
// describe() asks KubernetesGetResourcePluralName and forEach() KubernetesListResourceAll, as
// upstream built the Rego context, so those exchanges land in (and come from) the session.
class HandlerReader : public kube::ResourceReader {
 public:
  explicit HandlerReader(std::shared_ptr<CallbackHandler> handler);
  Result<std::string> listByNamespace(const kube::ResourceKey& key, std::string_view ns,
                                      const kube::Selectors& selectors) override;
  Result<std::string> listAll(const kube::ResourceKey& key,
                              const kube::Selectors& selectors) override;
  Result<std::string> get(const kube::ResourceKey& key, std::string_view name, std::string_view ns,
                          bool disable_cache) override;
  Result<kube::ResourceType> describe(const kube::ResourceKey& key) override;
  Status forEach(const kube::ResourceKey& key, const Visitor& visit) override;

 private:
  std::shared_ptr<CallbackHandler> handler_;
};

class RegoContextCache {
 public:
  RegoContextCache(kube::ResourceReader* reader, RegoContextOptions options);

  // Null when `resources` is empty.
  Result<std::shared_ptr<const std::string>> get(const std::set<kube::ResourceKey>& resources,
                                                 RegoLayout layout);

 private:
  struct Entry {
    std::vector<std::optional<std::string>> revisions;
    std::chrono::steady_clock::time_point built;
    std::shared_ptr<const std::string> text;
  };
  std::vector<std::optional<std::string>> revisionsOf(
      const std::set<kube::ResourceKey>& resources) const;
  bool fresh(const Entry& e, const std::vector<std::optional<std::string>>& revisions) const;

  kube::ResourceReader* reader_;
  RegoContextOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace kw::host
