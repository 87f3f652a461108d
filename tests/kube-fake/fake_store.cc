#include "kube-fake/fake_store.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "common/base64.h"

namespace kw::kube::fake {
namespace {

using json = nlohmann::json;

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Labels labelsOf(const json& obj) {
  Labels out;
  const json& meta = obj.at("metadata");
  if (auto it = meta.find("labels"); it != meta.end() && it->is_object())
    for (auto& [k, v] : it->items())
      if (v.is_string()) out.emplace_back(k, v.get<std::string>());
  return out;
}

std::string metaString(const json& obj, const char* field) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return "";
  auto it = meta->find(field);
  return it != meta->end() && it->is_string() ? it->get<std::string>() : "";
}

// Parses both selectors; a field other than metadata.name/namespace is refused as the API
// server does for fields a type does not index.
std::optional<FakeReply> parseFilter(const ListQuery& q, LabelSelector& labels,
                                     FieldSelector& fields) {
  auto l = LabelSelector::parse(q.label_selector);
  if (!l)
    return statusReply(400, "BadRequest", "unable to parse requirement: " + l.error().message);
  auto f = FieldSelector::parse(q.field_selector);
  if (!f) return statusReply(400, "BadRequest", f.error().message);
  for (const auto& term : f->terms())
    if (term.field != "metadata.name" && term.field != "metadata.namespace")
      return statusReply(400, "BadRequest", "field label not supported: " + term.field);
  labels = std::move(*l);
  fields = std::move(*f);
  return std::nullopt;
}

}  // namespace

std::vector<FakeType> builtinTypes() {
  return {{"", "v1", "Namespace", "namespaces", false},
          {"", "v1", "Pod", "pods", true},
          {"", "v1", "Service", "services", true},
          {"", "v1", "ConfigMap", "configmaps", true},
          {"", "v1", "Secret", "secrets", true},
          {"networking.k8s.io", "v1", "Ingress", "ingresses", true},
          {"apps", "v1", "Deployment", "deployments", true}};
}

FakeReply statusReply(int code, const std::string& reason, const std::string& message,
                      json details) {
  json status = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
                 {"status", "Failure"}, {"message", message}, {"reason", reason},
                 {"code", code}};
  if (!details.empty()) status["details"] = std::move(details);
  return {code, status.dump()};
}

size_t FakeStore::registerType(FakeType type) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < types_.size(); ++i)
    if (types_[i].type.apiVersion() == type.apiVersion() && types_[i].type.kind == type.kind) {
      types_[i].type = std::move(type);
      return i;
    }
  types_.push_back({std::move(type), {}});
  return types_.size() - 1;
}

std::optional<size_t> FakeStore::findType(const std::string& group, const std::string& version,
                                          const std::string& plural) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < types_.size(); ++i) {
    const FakeType& t = types_[i].type;
    if (t.group == group && t.version == version && t.plural == plural) return i;
  }
  return std::nullopt;
}

std::optional<size_t> FakeStore::findKind(const std::string& api_version,
                                          const std::string& kind) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < types_.size(); ++i)
    if (types_[i].type.apiVersion() == api_version && types_[i].type.kind == kind) return i;
  return std::nullopt;
}

std::vector<FakeType> FakeStore::types() const {
  std::lock_guard lock(mu_);
  std::vector<FakeType> out;
  for (const auto& t : types_) out.push_back(t.type);
  return out;
}

FakeType FakeStore::type(size_t index) const {
  std::lock_guard lock(mu_);
  return types_.at(index).type;
}

std::string FakeStore::fullText(const Objects& objs, const json& obj) const {
  std::string body = obj.dump();
  return fmt::format(R"({{"apiVersion":"{}","kind":"{}",{})", objs.type.apiVersion(),
                     objs.type.kind, body.substr(1));
}

FakeReply FakeStore::notFound(const FakeType& t, const std::string& name) const {
  return statusReply(404, "NotFound", fmt::format("{} \"{}\" not found", t.qualified(), name),
                     {{"name", name}, {"group", t.group}, {"kind", t.plural}});
}

void FakeStore::record(size_t type, const char* event, const json& obj) {
  FakeEvent e{rv_,
              type,
              metaString(obj, "namespace"),
              metaString(obj, "name"),
              labelsOf(obj),
              fmt::format(R"({{"type":"{}","object":{}}})", event, fullText(types_[type], obj))};
  history_.push_back(std::move(e));
  while (history_.size() > history_limit_) {
    floor_ = history_.front().rv;
    history_.pop_front();
  }
  changed_.notify_all();
}

FakeReply FakeStore::get(size_t type, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  Objects& objs = types_.at(type);
  auto it = objs.items.find({ns, name});
  if (it == objs.items.end()) return notFound(objs.type, name);
  return {200, fullText(objs, it->second)};
}

FakeReply FakeStore::list(size_t type, const ListQuery& q) {
  LabelSelector labels;
  FieldSelector fields;
  if (auto bad = parseFilter(q, labels, fields)) return *bad;
  std::lock_guard lock(mu_);
  Objects& objs = types_.at(type);
  uint64_t list_rv = rv_;
  auto it = q.ns.empty() ? objs.items.begin() : objs.items.lower_bound({q.ns, ""});
  if (!q.continue_token.empty()) {
    // The token carries the list's version and the last key served; pages after the first are
    // read from the current state, which is good enough for a test double.
    json token;
    try {
      auto raw = base64Decode(q.continue_token);
      token = json::parse(raw.ok() ? *raw : std::string());
      list_rv = token.at("rv").get<uint64_t>();
      it = objs.items.upper_bound(
          {token.at("ns").get<std::string>(), token.at("name").get<std::string>()});
    } catch (const json::exception&) {
      return statusReply(400, "BadRequest", "continue key is not valid: invalid continue token");
    }
    if (list_rv < floor_)
      return statusReply(410, "Expired",
                         "The provided continue parameter is too old to display a consistent list "
                         "result. You can start a new list without the continue parameter.");
  }
  std::string items;
  int64_t count = 0;
  std::string next;
  for (; it != objs.items.end(); ++it) {
    if (!q.ns.empty() && it->first.first != q.ns) break;
    if (!fields.matches(it->first.first, it->first.second)) continue;
    if (!labels.matches(labelsOf(it->second))) continue;
    if (q.limit > 0 && count == q.limit) {
      auto last = std::prev(it);
      next = base64Encode(
          json{{"rv", list_rv}, {"ns", last->first.first}, {"name", last->first.second}}.dump());
      break;
    }
    if (count++) items += ',';
    items += it->second.dump();
  }
  std::string meta = fmt::format(R"("resourceVersion":"{}")", list_rv);
  if (!next.empty()) meta += fmt::format(R"(,"continue":"{}")", next);
  return {200,
          fmt::format(R"({{"kind":"{}List","apiVersion":"{}","metadata":{{{}}},"items":[{}]}})",
                      objs.type.kind, objs.type.apiVersion(), meta, items)};
}

FakeReply FakeStore::store(size_t type, json obj, const char* event, int status) {
  Objects& objs = types_.at(type);
  obj.erase("apiVersion");
  obj.erase("kind");
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  Key key{metaString(obj, "namespace"), metaString(obj, "name")};
  record(type, event, obj);
  std::string text = fullText(objs, obj);
  objs.items.insert_or_assign(std::move(key), std::move(obj));
  return {status, std::move(text)};
}

std::string FakeStore::upsert(size_t type, json object) {
  std::lock_guard lock(mu_);
  Objects& objs = types_.at(type);
  Key key{metaString(object, "namespace"), metaString(object, "name")};
  bool exists = objs.items.count(key) > 0;
  json& meta = object["metadata"];
  if (!meta.contains("uid")) meta["uid"] = fmt::format("fake-uid-{:012}", ++uid_counter_);
  if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = nowRfc3339();
  return store(type, std::move(object), exists ? "MODIFIED" : "ADDED", 200).body;
}

FakeReply FakeStore::create(size_t type, const std::string& ns, const std::string& body) {
  json obj;
  try {
    obj = json::parse(body);
  } catch (const json::exception& e) {
    return statusReply(400, "BadRequest", std::string("invalid JSON body: ") + e.what());
  }
  if (!obj.is_object() || !obj["metadata"].is_object())
    return statusReply(400, "BadRequest", "the object has no metadata");
  std::lock_guard lock(mu_);
  const FakeType& t = types_.at(type).type;
  json& meta = obj["metadata"];
  if (meta.value("name", "").empty() && !meta.value("generateName", "").empty())
    meta["name"] =
        meta["generateName"].get<std::string>() + fmt::format("{:05x}", uid_counter_ + 1);
  std::string name = meta.value("name", "");
  if (name.empty())
    return statusReply(
        422, "Invalid",
        fmt::format(
            "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
            t.kind));
  if (t.namespaced) {
    if (meta.contains("namespace") && meta["namespace"] != ns)
      return statusReply(
          400, "BadRequest",
          "the namespace of the provided object does not match the namespace sent on the request");
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (types_[type].items.count({t.namespaced ? ns : "", name}))
    return statusReply(409, "AlreadyExists",
                       fmt::format("{} \"{}\" already exists", t.qualified(), name),
                       {{"name", name}, {"group", t.group}, {"kind", t.plural}});
  meta["uid"] = fmt::format("fake-uid-{:012}", ++uid_counter_);
  meta["creationTimestamp"] = nowRfc3339();
  return store(type, std::move(obj), "ADDED", 201);
}

FakeReply FakeStore::update(size_t type, const std::string& ns, const std::string& name,
                            const std::string& body) {
  json obj;
  try {
    obj = json::parse(body);
  } catch (const json::exception& e) {
    return statusReply(400, "BadRequest", std::string("invalid JSON body: ") + e.what());
  }
  std::lock_guard lock(mu_);
  const FakeType& t = types_.at(type).type;
  auto it = types_[type].items.find({ns, name});
  if (it == types_[type].items.end()) return notFound(t, name);
  if (!obj.is_object() || metaString(obj, "name") != name)
    return statusReply(400, "BadRequest",
                       "the name of the object does not match the name on the URL");
  std::string sent_rv = metaString(obj, "resourceVersion");
  if (!sent_rv.empty() && sent_rv != metaString(it->second, "resourceVersion"))
    return statusReply(
        409, "Conflict",
        fmt::format("Operation cannot be fulfilled on {} \"{}\": the object has been "
                    "modified; please apply your changes to the latest version and "
                    "try again",
                    t.qualified(), name),
        {{"name", name}, {"group", t.group}, {"kind", t.plural}});
  json& meta = obj["metadata"];
  meta["uid"] = it->second["metadata"]["uid"];
  meta["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
  if (t.namespaced) meta["namespace"] = ns;
  return store(type, std::move(obj), "MODIFIED", 200);
}

FakeReply FakeStore::patch(size_t type, const std::string& ns, const std::string& name,
                           const std::string& content_type, const std::string& body) {
  json patch;
  try {
    patch = json::parse(body);
  } catch (const json::exception& e) {
    return statusReply(400, "BadRequest", std::string("invalid JSON patch: ") + e.what());
  }
  std::string current;
  {
    std::lock_guard lock(mu_);
    const FakeType& t = types_.at(type).type;
    auto it = types_[type].items.find({ns, name});
    if (it == types_[type].items.end()) return notFound(t, name);
    json obj = it->second;
    try {
      if (content_type.rfind("application/merge-patch+json", 0) == 0 ||
          content_type.rfind("application/strategic-merge-patch+json", 0) == 0) {
        obj.merge_patch(patch);
      } else if (content_type.rfind("application/json-patch+json", 0) == 0) {
        obj = obj.patch(patch);
      } else {
        return statusReply(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media "
                           "types include: application/json-patch+json, "
                           "application/merge-patch+json");
      }
    } catch (const json::exception& e) {
      return statusReply(422, "Invalid",
                         std::string("the patch could not be applied: ") + e.what());
    }
    current = metaString(it->second, "resourceVersion");
    std::string sent = metaString(obj, "resourceVersion");
    if (sent != current)  // a patch carrying a stale resourceVersion is a precondition
      return statusReply(409, "Conflict",
                         fmt::format("Operation cannot be fulfilled on {} \"{}\": the object has "
                                     "been modified; please apply your changes to the latest "
                                     "version and try again",
                                     t.qualified(), name));
    if (metaString(obj, "name") != name)
      return statusReply(422, "Invalid",
                         "metadata.name: Invalid value: the name cannot be changed");
    return store(type, std::move(obj), "MODIFIED", 200);
  }
}

FakeReply FakeStore::remove(size_t type, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  Objects& objs = types_.at(type);
  auto it = objs.items.find({ns, name});
  if (it == objs.items.end()) return notFound(objs.type, name);
  json obj = std::move(it->second);
  objs.items.erase(it);
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  record(type, "DELETED", obj);
  return {200, fullText(objs, obj)};
}

}  // namespace kw::kube::fake
