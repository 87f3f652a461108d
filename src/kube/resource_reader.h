// What host capabilities read from Kubernetes, behind one interface: the policy-server and
// `kwctl run --allow-context-aware` serve it from watch-backed caches (kube::CachedReader),
// `kwctl run --replay-host-capabilities-interactions` from a recorded session, and unit tests
// from a fake. Objects travel as JSON text so no caller needs a DOM copy.
#pragma once

#include <compare>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw::kube {

struct ResourceKey {
  std::string api_version;  // "v1", "networking.k8s.io/v1"
  std::string kind;         // "Namespace"
  auto operator<=>(const ResourceKey&) const = default;
};

// From discovery.
struct ResourceType {
  ResourceKey key;
  std::string plural;  // "namespaces"
  bool namespaced = false;
};

// Kubernetes selector strings as the API takes them; empty means none.
struct Selectors {
  std::string label_selector;
  std::string field_selector;
};

class ResourceReader {
 public:
  virtual ~ResourceReader() = default;

  // A Kubernetes List object: {"apiVersion":…,"kind":"<Kind>List","metadata":{…},"items":[…]}.
  virtual Result<std::string> listByNamespace(const ResourceKey& key, std::string_view ns,
                                              const Selectors& selectors) = 0;
  virtual Result<std::string> listAll(const ResourceKey& key, const Selectors& selectors) = 0;
  // One object. `ns` empty for cluster-scoped kinds. `disable_cache` skips the 5 s cache.
  virtual Result<std::string> get(const ResourceKey& key, std::string_view name,
                                  std::string_view ns, bool disable_cache) = 0;
  virtual Result<ResourceType> describe(const ResourceKey& key) = 0;
  // Every object of a type, without building a List: for the Rego context, which lays objects
  // out by namespace and name. `ns` is empty for cluster-scoped objects.
  using Visitor =
      std::function<void(std::string_view ns, std::string_view name, std::string_view json)>;
  virtual Status forEach(const ResourceKey& key, const Visitor& visit) = 0;
};

}  // namespace kw::kube
