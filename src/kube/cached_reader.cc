#include "kube/cached_reader.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace kw::kube {

std::string buildList(const ResourceKey& key, const std::string& resource_version,
                      const std::vector<const std::string*>& items) {
  std::string head =
      fmt::format(R"({{"apiVersion":{},"kind":{},"metadata":{{"resourceVersion":{}}},"items":[)",
                  nlohmann::json(key.api_version).dump(), nlohmann::json(key.kind + "List").dump(),
                  nlohmann::json(resource_version).dump());
  size_t total = head.size() + 2 + items.size();
  for (const std::string* item : items) total += item->size();
  std::string out;
  out.reserve(total);
  out += head;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += *items[i];
  }
  out += "]}";
  return out;
}

CachedReader::CachedReader(std::shared_ptr<Client> client, Options options)
    : client_(std::move(client)), options_(options) {}

CachedReader::~CachedReader() {
  std::lock_guard lock(mu_);
  for (auto& [key, r] : reflectors_) r->stop();
}

Result<std::shared_ptr<Reflector>> CachedReader::reflector(const ResourceKey& key) {
  {
    std::lock_guard lock(mu_);
    if (auto it = reflectors_.find(key); it != reflectors_.end()) return it->second;
  }
  auto type = client_->resolve(key);  // outside the lock: discovery is a network call
  if (!type) return type.error();
  std::lock_guard lock(mu_);
  auto& slot = reflectors_[key];
  if (!slot) {
    slot = std::make_shared<Reflector>(client_, *type, options_.reflector);
    slot->start();
  }
  return slot;
}

Status CachedReader::start(const std::vector<ResourceKey>& keys) {
  for (const ResourceKey& key : keys)
    if (auto r = reflector(key); !r) return r.error();
  return okStatus();
}

Status CachedReader::waitForSync(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::shared_ptr<Reflector>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, r] : reflectors_) all.push_back(r);
  }
  std::string unsynced;
  for (auto& r : all) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (r->waitForSync(std::max(left, std::chrono::milliseconds(0)))) continue;
    std::string err = r->lastError();
    unsynced += fmt::format("{}{}/{}{}", unsynced.empty() ? "" : "; ", r->type().key.api_version,
                            r->type().key.kind, err.empty() ? "" : " (" + err + ")");
  }
  if (!unsynced.empty()) return makeError("Kubernetes caches not synced in time: " + unsynced);
  return okStatus();
}

Result<std::shared_ptr<Reflector>> CachedReader::syncedReflector(const ResourceKey& key) {
  auto r = reflector(key);
  if (!r) return r.error();
  if (!(*r)->waitForSync(options_.first_sync_timeout)) {
    std::string err = (*r)->lastError();
    return makeError(fmt::format("Kubernetes cache for {}/{} is not synced{}", key.api_version,
                                 key.kind, err.empty() ? "" : ": " + err));
  }
  return r;
}

Result<std::string> CachedReader::list(const ResourceKey& key, std::string_view ns,
                                       bool by_namespace, const Selectors& selectors) {
  auto labels = LabelSelector::parse(selectors.label_selector);
  if (!labels) return labels.error();
  auto fields = FieldSelector::parse(selectors.field_selector);
  if (!fields) return fields.error();
  if (!fields->supported()) {  // only the API server knows the type-specific fields
    auto type = client_->resolve(key);
    if (!type) return type.error();
    Client::ListOptions options{std::string(by_namespace ? ns : ""), selectors, 500, ""};
    return client_->list(*type, options);
  }
  auto r = syncedReflector(key);
  if (!r) return r.error();
  std::string out;
  (*r)->read([&](const ObjectMap& objects, const std::string& rv) {
    std::vector<const std::string*> items;
    auto begin = objects.begin();
    auto end = objects.end();
    if (by_namespace) {
      std::string nss(ns);
      begin = objects.lower_bound({nss, ""});
      end = objects.lower_bound({nss + '\0', ""});
    }
    for (auto it = begin; it != end; ++it) {
      if (!fields->matches(it->first.first, it->first.second)) continue;
      if (!labels->empty() && !labels->matches(it->second.labels)) continue;
      items.push_back(it->second.json.get());
    }
    out = buildList(key, rv, items);
  });
  return out;
}

Result<std::string> CachedReader::listByNamespace(const ResourceKey& key, std::string_view ns,
                                                  const Selectors& selectors) {
  auto type = describe(key);
  if (!type) return type.error();
  if (!type->namespaced)
    return makeError(fmt::format("{}/{} is cluster-scoped: it cannot be listed by namespace",
                                 key.api_version, key.kind));
  return list(key, ns, true, selectors);
}

Result<std::string> CachedReader::listAll(const ResourceKey& key, const Selectors& selectors) {
  return list(key, "", false, selectors);
}

Result<std::string> CachedReader::get(const ResourceKey& key, std::string_view name,
                                      std::string_view ns, bool disable_cache) {
  GetKey gkey{key, std::string(ns), std::string(name)};
  auto now = std::chrono::steady_clock::now();
  if (!disable_cache) {
    std::lock_guard lock(get_mu_);
    if (auto it = gets_.find(gkey); it != gets_.end() && it->second.expires > now)
      return *it->second.json;
  }
  auto type = client_->resolve(key);
  if (!type) return type.error();
  auto body = client_->get(*type, ns, name);
  if (!body) return body.error();  // like upstream, only successes are cached
  if (!disable_cache) {
    std::lock_guard lock(get_mu_);
    if (gets_.size() > 4096)  // sweep expired entries so the cache cannot grow without bound
      std::erase_if(gets_, [&](const auto& e) { return e.second.expires <= now; });
    gets_[gkey] = {now + options_.get_ttl, std::make_shared<const std::string>(*body)};
  }
  return body;
}

Result<ResourceType> CachedReader::describe(const ResourceKey& key) {
  return client_->resolve(key);
}

Status CachedReader::forEach(const ResourceKey& key, const Visitor& visit) {
  auto r = syncedReflector(key);
  if (!r) return r.error();
  (*r)->read([&](const ObjectMap& objects, const std::string&) {
    for (const auto& [okey, obj] : objects) visit(okey.first, okey.second, *obj.json);
  });
  return okStatus();
}

}  // namespace kw::kube
