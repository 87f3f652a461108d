#include "kube/reflector.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <optional>

namespace kw::kube {

using json = nlohmann::json;

Result<std::pair<ObjectKey, StoredObject>> makeStoredObject(json& object, const ResourceKey& key,
                                                            bool drop_managed_fields) {
  if (!object.is_object()) return makeError("object is not a JSON object");
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return makeError("object has no metadata");
  // Read without json::value(), which throws on a non-string: the list path has no handler,
  // and a malformed object must be an error, not the end of the reflector's thread.
  auto field = [&](const char* name) -> Result<std::string> {
    auto it = meta->find(name);
    if (it == meta->end() || it->is_null()) return std::string();
    if (!it->is_string()) return makeError(std::string("object has a non-string metadata.") + name);
    return it->get<std::string>();
  };
  auto ns = field("namespace");
  if (!ns) return ns.error();
  auto name = field("name");
  if (!name) return name.error();
  ObjectKey okey{std::move(*ns), std::move(*name)};
  if (okey.second.empty()) return makeError("object has no metadata.name");
  StoredObject stored;
  if (auto labels = meta->find("labels"); labels != meta->end() && labels->is_object())
    for (auto& [k, v] : labels->items())
      if (v.is_string()) stored.labels.emplace_back(k, v.get<std::string>());
  // Lists omit each item's apiVersion and kind; policies expect them on every object.
  if (!object.contains("apiVersion")) object["apiVersion"] = key.api_version;
  if (!object.contains("kind")) object["kind"] = key.kind;
  if (drop_managed_fields) meta->erase("managedFields");
  // dump() grows its string by doubling; copying it gives an exact-size buffer, which is what
  // keeps the cache near the objects' JSON size.
  std::string text = object.dump();
  stored.json = std::make_shared<const std::string>(text.data(), text.size());
  return std::make_pair(std::move(okey), std::move(stored));
}

Result<WatchEvent> parseWatchEvent(std::string_view line) {
  json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded()) return makeError("not JSON");
  if (!doc.is_object()) return makeError("not a JSON object");
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string()) return makeError("no type string");
  auto object = doc.find("object");
  if (object == doc.end()) return makeError("no object");
  WatchEvent event{type->get<std::string>(), std::move(*object), "", 0, ""};
  if (event.type == "ERROR") {
    // A Status; anything unexpected in it still ends the watch, with the object as the message.
    if (event.object.is_object()) {
      auto code = event.object.find("code");
      if (code != event.object.end() && code->is_number_integer())
        event.code = code->get<int64_t>();
      auto message = event.object.find("message");
      if (message != event.object.end() && message->is_string()) event.message = *message;
    }
    if (event.message.empty()) event.message = event.object.dump();
    return event;
  }
  if (!event.object.is_object()) return makeError("the object is not a JSON object");
  auto meta = event.object.find("metadata");
  if (meta == event.object.end() || !meta->is_object())
    return makeError("the object has no metadata");
  auto rv = meta->find("resourceVersion");
  if (rv != meta->end() && !rv->is_null()) {
    if (!rv->is_string()) return makeError("metadata.resourceVersion is not a string");
    event.resource_version = rv->get<std::string>();
  }
  return event;
}

Reflector::Reflector(std::shared_ptr<Client> client, ResourceType type, Options options)
    : client_(std::move(client)), type_(std::move(type)), options_(options) {}

Reflector::~Reflector() {
  stop();
}

void Reflector::start() {
  std::call_once(started_, [this] { thread_ = std::thread([this] { run(); }); });
}

void Reflector::stop() {
  stopping_.store(true);
  cancel_.cancel();
  {
    std::lock_guard lock(state_mu_);
    state_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool Reflector::waitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_mu_);
  return state_cv_.wait_for(lock, timeout, [&] { return synced_.load() || stopping_.load(); }) &&
         synced_.load();
}

std::string Reflector::lastError() const {
  std::lock_guard lock(state_mu_);
  return last_error_;
}

Reflector::Stats Reflector::stats() const {
  std::lock_guard lock(state_mu_);
  return stats_;
}

std::string Reflector::resourceVersion() const {
  std::shared_lock lock(store_mu_);
  return rv_;
}

void Reflector::read(
    const std::function<void(const ObjectMap& objects, const std::string& rv)>& read) const {
  std::shared_lock lock(store_mu_);
  read(objects_, rv_);
}

void Reflector::setError(std::string message) {
  spdlog::warn("kubernetes cache {}/{}: {}", type_.key.api_version, type_.key.kind, message);
  std::lock_guard lock(state_mu_);
  last_error_ = std::move(message);
}

// The new store is built aside and swapped in, so readers see the old one until it is whole.
Status Reflector::relist() {
  ObjectMap fresh;
  std::string rv;
  Client::ListOptions options;
  options.limit = options_.page_size;
  options.ns = options_.ns;
  options.selectors = options_.selectors;
  auto status = client_->listPages(type_, options, [&](json& page) -> Status {
    rv = page["metadata"].value("resourceVersion", "");
    auto items = page.find("items");
    if (items == page.end() || !items->is_array()) return okStatus();  // "items": null
    for (json& item : *items) {
      auto stored = makeStoredObject(item, type_.key, options_.drop_managed_fields);
      if (!stored) return makeError("listing " + type_.plural + ": " + stored.error().message);
      fresh.insert_or_assign(std::move(stored->first), std::move(stored->second));
    }
    items->clear();
    return okStatus();
  });
  if (!status) return status;
  {
    std::unique_lock lock(store_mu_);
    objects_.swap(fresh);
    rv_ = rv;
  }
  {
    std::lock_guard lock(state_mu_);
    ++stats_.lists;
    last_error_.clear();
  }
  // Only this thread writes objects_, so reading it here without the lock is safe.
  if (!listeners_.empty()) notifyRelist(fresh);
  fresh.clear();  // the old store is freed outside the lock
  synced_.store(true);
  state_cv_.notify_all();
  return okStatus();
}

bool Reflector::applyEvent(std::string_view line) {
  auto event = parseWatchEvent(line);
  if (!event) {
    setError("malformed watch event: " + event.error().message);
    return true;
  }
  if (event->type == "ERROR") {
    if (event->code == 410) {
      expired_ = true;
    } else {
      setError("watch error: " + event->message);
    }
    return false;
  }
  const std::string& rv = event->resource_version;
  if (event->type == "BOOKMARK") {
    std::unique_lock lock(store_mu_);
    if (!rv.empty()) rv_ = rv;
    lock.unlock();
    std::lock_guard s(state_mu_);
    ++stats_.bookmarks;
    return true;
  }
  auto stored = makeStoredObject(event->object, type_.key, options_.drop_managed_fields);
  if (!stored) {
    setError("watch event: " + stored.error().message);
    return true;
  }
  const bool deleted = event->type == "DELETED";
  std::optional<StoredObject> old;
  {
    std::unique_lock lock(store_mu_);
    if (auto it = objects_.find(stored->first); it != objects_.end()) old = it->second;
    if (deleted) {
      objects_.erase(stored->first);
    } else {
      objects_.insert_or_assign(stored->first, stored->second);
    }
    if (!rv.empty()) rv_ = rv;
  }
  if (!listeners_.empty())
    notify(stored->first, old ? &*old : nullptr, deleted ? nullptr : &stored->second);
  std::lock_guard s(state_mu_);
  ++stats_.events;
  return true;
}

void Reflector::notify(const ObjectKey& key, const StoredObject* old, const StoredObject* now) {
  for (const auto& listener : listeners_) listener(key, old, now);
}

void Reflector::notifyRelist(const ObjectMap& before) {
  for (const auto& [key, now] : objects_) {
    auto it = before.find(key);
    if (it == before.end()) {
      notify(key, nullptr, &now);
    } else if (*it->second.json != *now.json) {
      notify(key, &it->second, &now);
    }
  }
  for (const auto& [key, old] : before)
    if (!objects_.contains(key)) notify(key, &old, nullptr);
}

void Reflector::sleepBackoff(std::chrono::milliseconds& backoff) {
  std::unique_lock lock(state_mu_);
  state_cv_.wait_for(lock, backoff, [&] { return stopping_.load(); });
  backoff = std::min(backoff * 2, options_.max_backoff);
}

void Reflector::run() {
  bool need_list = true;
  auto backoff = options_.initial_backoff;
  while (!stopping_.load()) {
    if (need_list) {
      if (auto s = relist(); !s) {
        setError(s.error().message);
        sleepBackoff(backoff);
        continue;
      }
      need_list = false;
      backoff = options_.initial_backoff;
    }
    Client::WatchOptions options;
    options.resource_version = resourceVersion();
    options.timeout_seconds = options_.watch_timeout_seconds;
    options.ns = options_.ns;
    options.selectors = options_.selectors;
    expired_ = false;
    uint64_t events_before = stats().events + stats().bookmarks;
    auto opened = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(state_mu_);
      ++stats_.watches;
    }
    auto end = client_->watch(
        type_, options, [this](std::string_view line) { return applyEvent(line); }, cancel_);
    if (stopping_.load()) break;
    if (expired_ || (end && *end == Client::WatchEnd::kExpired)) {
      need_list = true;  // our version fell out of the server's history
      continue;
    }
    if (!end) setError(end.error().message);
    // A stream that delivered something was healthy: resume at once. An empty or failed one
    // backs off, so a flapping server is not hammered.
    bool long_lived = std::chrono::steady_clock::now() - opened > std::chrono::seconds(10);
    if (end && (long_lived || stats().events + stats().bookmarks > events_before)) {
      backoff = options_.initial_backoff;
    } else {
      sleepBackoff(backoff);
    }
  }
}

}  // namespace kw::kube
