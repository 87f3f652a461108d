#include "host/rego_context.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace kw::host {
namespace {

std::string jsonQuoted(std::string_view s) {
  return nlohmann::json(s).dump();
}

// "name":obj pairs, comma-separated, for one innermost object.
using Members = std::string;

void addMember(Members& m, std::string_view name, std::string_view obj) {
  if (!m.empty()) m += ',';
  m += jsonQuoted(name);
  m += ':';
  m += obj;
}

template <typename Map, typename Emit>
void appendObject(std::string& out, const Map& map, Emit emit) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : map) {
    if (!first) out += ',';
    first = false;
    out += jsonQuoted(k);
    out += ':';
    emit(out, v);
  }
  out += '}';
}

void appendMembers(std::string& out, const Members& m) {
  out += '{';
  out += m;
  out += '}';
}

// "networking.k8s.io/v1" stays as is; Gatekeeper keys core types by "v1" too.
const std::string& groupVersion(const kube::ResourceKey& k) {
  return k.api_version;
}

// Whether an object is namespaced is read from the object itself, so the layout does not
// depend on discovery (a replayed session has none); describe() gives the plural and tells how
// an empty type appears.
Result<std::string> buildOpa(kube::ResourceReader& reader,
                             const std::set<kube::ResourceKey>& resources) {
  // plural → namespace → members (namespaced) and plural → members (cluster-scoped).
  std::map<std::string, std::map<std::string, Members>> namespaced;
  std::map<std::string, Members> cluster;
  for (const auto& key : resources) {
    auto type = reader.describe(key);
    if (!type) return type.error();
    bool any = false;
    auto st =
        reader.forEach(key, [&](std::string_view ns, std::string_view name, std::string_view obj) {
          any = true;
          if (!ns.empty()) {
            addMember(namespaced[type->plural][std::string(ns)], name, obj);
          } else {
            addMember(cluster[type->plural], name, obj);
          }
        });
    if (!st) return st.error();
    // A type with no objects still shows up, as an empty map.
    if (!any && type->namespaced) namespaced[type->plural];
    if (!any && !type->namespaced) cluster[type->plural];
  }
  std::map<std::string, std::string> by_plural;
  for (const auto& [plural, members] : cluster) appendMembers(by_plural[plural], members);
  for (const auto& [plural, by_ns] : namespaced) {
    std::string& out = by_plural[plural];
    if (!out.empty()) continue;  // a plural both scoped and not: the cluster one wins
    appendObject(out, by_ns, appendMembers);
  }
  std::string out;
  appendObject(out, by_plural, [](std::string& o, const std::string& v) { o += v; });
  return out;
}

Result<std::string> buildGatekeeper(kube::ResourceReader& reader,
                                    const std::set<kube::ResourceKey>& resources) {
  using KindMap = std::map<std::string, Members>;  // Kind → members
  using GvMap = std::map<std::string, KindMap>;    // groupVersion → kinds
  GvMap cluster;
  std::map<std::string, GvMap> namespaced;  // namespace → groupVersions
  for (const auto& key : resources) {
    auto st =
        reader.forEach(key, [&](std::string_view ns, std::string_view name, std::string_view obj) {
          if (!ns.empty()) {
            addMember(namespaced[std::string(ns)][groupVersion(key)][key.kind], name, obj);
          } else {
            addMember(cluster[groupVersion(key)][key.kind], name, obj);
          }
        });
    if (!st) return st.error();
  }
  auto emitKinds = [](std::string& o, const KindMap& kinds) {
    appendObject(o, kinds, appendMembers);
  };
  auto emitGvs = [&](std::string& o, const GvMap& gvs) { appendObject(o, gvs, emitKinds); };
  std::string out = "{\"cluster\":";
  emitGvs(out, cluster);
  out += ",\"namespace\":";
  appendObject(out, namespaced, emitGvs);
  out += '}';
  return out;
}

std::string cacheKey(const std::set<kube::ResourceKey>& resources, RegoLayout layout) {
  std::string key = layout == RegoLayout::Opa ? "opa" : "gatekeeper";
  for (const auto& r : resources) key += fmt::format("|{}/{}", r.api_version, r.kind);
  return key;
}

}  // namespace

HandlerReader::HandlerReader(std::shared_ptr<CallbackHandler> handler)
    : handler_(std::move(handler)) {}

Result<std::string> HandlerReader::listByNamespace(const kube::ResourceKey&, std::string_view,
                                                   const kube::Selectors&) {
  return makeError("not available when replaying");
}

Result<std::string> HandlerReader::listAll(const kube::ResourceKey& key,
                                           const kube::Selectors& selectors) {
  auto request = requestFromJson(
      kKubernetesListResourceAll,
      nlohmann::json{{"api_version", key.api_version},
                     {"kind", key.kind},
                     {"label_selector", selectors.label_selector.empty()
                                            ? nlohmann::json(nullptr)
                                            : nlohmann::json(selectors.label_selector)},
                     {"field_selector", selectors.field_selector.empty()
                                            ? nlohmann::json(nullptr)
                                            : nlohmann::json(selectors.field_selector)}});
  if (!request) return request.error();
  return handler_->handle(*request);
}

Result<std::string> HandlerReader::get(const kube::ResourceKey&, std::string_view, std::string_view,
                                       bool) {
  return makeError("not available when replaying");
}

Result<kube::ResourceType> HandlerReader::describe(const kube::ResourceKey& key) {
  auto request =
      requestFromJson(kKubernetesGetResourcePluralName,
                      nlohmann::json{{"api_version", key.api_version}, {"kind", key.kind}});
  if (!request) return request.error();
  auto reply = handler_->handle(*request);
  if (!reply) return reply.error();
  auto plural = nlohmann::json::parse(*reply, nullptr, false);
  if (!plural.is_string()) {
    return makeError(fmt::format("the plural name of {}/{} is not a JSON string: {}",
                                 key.api_version, key.kind, *reply));
  }
  return kube::ResourceType{key, plural.get<std::string>(), false};
}

Status HandlerReader::forEach(const kube::ResourceKey& key, const Visitor& visit) {
  auto list = listAll(key, {});
  if (!list) return list.error();
  auto doc = nlohmann::json::parse(*list, nullptr, false);
  auto items = doc.is_object() ? doc.find("items") : doc.end();
  if (items == doc.end() || !items->is_array()) {
    return makeError(fmt::format("the list of {}/{} has no items", key.api_version, key.kind));
  }
  for (const auto& item : *items) {
    const auto& md = item.is_object() ? item.value("metadata", nlohmann::json::object())
                                      : nlohmann::json::object();
    visit(md.value("namespace", ""), md.value("name", ""), item.dump());
  }
  return okStatus();
}

Result<std::string> buildRegoContext(kube::ResourceReader& reader,
                                     const std::set<kube::ResourceKey>& resources,
                                     RegoLayout layout) {
  return layout == RegoLayout::Opa ? buildOpa(reader, resources)
                                   : buildGatekeeper(reader, resources);
}

RegoContextCache::RegoContextCache(kube::ResourceReader* reader, RegoContextOptions options)
    : reader_(reader), options_(std::move(options)) {}

std::vector<std::optional<std::string>> RegoContextCache::revisionsOf(
    const std::set<kube::ResourceKey>& resources) const {
  std::vector<std::optional<std::string>> out;
  if (!options_.revision) return out;
  for (const auto& r : resources) out.push_back(options_.revision(r));
  return out;
}

bool RegoContextCache::fresh(const Entry& e,
                             const std::vector<std::optional<std::string>>& revisions) const {
  if (options_.revision) {
    for (const auto& r : revisions) {
      if (!r) return false;  // unknown revision: rebuild every time rather than serve stale data
    }
    return e.revisions == revisions;
  }
  return options_.clock() < e.built + options_.ttl;
}

Result<std::shared_ptr<const std::string>> RegoContextCache::get(
    const std::set<kube::ResourceKey>& resources, RegoLayout layout) {
  if (resources.empty()) return std::shared_ptr<const std::string>();
  if (!reader_) {
    return makeError(
        "Cannot build the Kubernetes context of the policy: no connection to "
        "Kubernetes is configured");
  }
  const std::string key = cacheKey(resources, layout);
  // Revisions are read before building, so a change during the build forces the next rebuild.
  auto revisions = revisionsOf(resources);
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && fresh(it->second, revisions)) return it->second.text;
  }
  auto built = buildRegoContext(*reader_, resources, layout);
  if (!built)
    return makeError("Cannot build the Kubernetes context of the policy: " + built.error().message);
  auto text = std::make_shared<const std::string>(std::move(*built));
  std::lock_guard lock(mu_);
  entries_[key] = Entry{std::move(revisions), options_.clock(), text};
  return text;
}

}  // namespace kw::host
