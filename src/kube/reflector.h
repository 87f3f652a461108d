// Keeps one resource type mirrored in memory: list (paginated), then watch from the list's
// resourceVersion; bookmarks advance the version, 410 Gone re-lists, other disconnects resume
// with exponential backoff. Each object is stored once as immutable compact JSON plus its labels,
// so memory stays near the objects' JSON size and readers share the text without copying it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/selector.h"

namespace kw::kube {

struct StoredObject {
  std::shared_ptr<const std::string> json;
  Labels labels;
};

// Ordered by (namespace, name); cluster-scoped objects have an empty namespace.
using ObjectKey = std::pair<std::string, std::string>;
using ObjectMap = std::map<ObjectKey, StoredObject>;

class Reflector {
 public:
  struct Options {
    int64_t page_size = 500;
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{4000};
    int watch_timeout_seconds = 300;  // the server ends each watch; we resume from our version
    std::string ns;        // empty: every namespace; else only this one (a namespaced type)
    Selectors selectors;   // narrows both the list and the watch
    // metadata.managedFields is often a third of an object's JSON; a client that never reads
    // it (the controller) keeps the cache smaller without it.
    bool drop_managed_fields = false;
  };
  // Told of every change the store applies, after it is applied and outside the store lock:
  // `old` is null for an addition, `now` null for a deletion. A re-list reports only the
  // differences against the previous store. Runs on the watch thread: keep it short.
  using Listener = std::function<void(const ObjectKey& key, const StoredObject* old,
                                      const StoredObject* now)>;
  struct Stats {
    uint64_t lists = 0;    // full lists, the first one included
    uint64_t watches = 0;  // watch connections opened
    uint64_t events = 0;   // ADDED/MODIFIED/DELETED applied
    uint64_t bookmarks = 0;
  };

  Reflector(std::shared_ptr<Client> client, ResourceType type, Options options);
  Reflector(std::shared_ptr<Client> client, ResourceType type)
      : Reflector(std::move(client), std::move(type), Options{}) {}
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Before start(): listeners are not synchronised with the watch thread.
  void addListener(Listener listener) { listeners_.push_back(std::move(listener)); }
  void start();  // idempotent
  void stop();
  // True once the first list is in memory; false on timeout.
  bool waitForSync(std::chrono::milliseconds timeout);
  bool synced() const { return synced_.load(); }
  std::string lastError() const;
  Stats stats() const;
  std::string resourceVersion() const;
  const ResourceType& type() const { return type_; }

  // Runs `read` under a shared lock: keep it short, the watch waits for it to apply events.
  void read(const std::function<void(const ObjectMap& objects, const std::string& rv)>& read) const;

 private:
  void run();
  Status relist();
  bool applyEvent(std::string_view line);
  void sleepBackoff(std::chrono::milliseconds& backoff);
  void setError(std::string message);
  void notify(const ObjectKey& key, const StoredObject* old, const StoredObject* now);
  void notifyRelist(const ObjectMap& before);

  std::shared_ptr<Client> client_;
  ResourceType type_;
  Options options_;

  mutable std::shared_mutex store_mu_;
  ObjectMap objects_;
  std::string rv_;

  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  bool expired_ = false;  // set by an ERROR 410 event, read by the watch thread only
  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;
  std::string last_error_;
  Stats stats_;
  WatchCancel cancel_;
  std::thread thread_;
  std::once_flag started_;
  std::vector<Listener> listeners_;
};

// Parses one object's JSON into what the store keeps: compact text (with apiVersion and kind
// filled in when a list omitted them, managedFields dropped when asked) and labels. Errors name
// what was malformed.
Result<std::pair<ObjectKey, StoredObject>> makeStoredObject(nlohmann::json& object,
                                                            const ResourceKey& key,
                                                            bool drop_managed_fields = false);

// One line of a watch stream (`{"type": …, "object": …}`), decoded. ERROR events carry a Status:
// `code` (0 when absent) and `message` (its message, else the whole object as JSON). Every other
// type has an object with metadata: `resource_version` is its resourceVersion, "" when absent.
struct WatchEvent {
  std::string type;
  nlohmann::json object;
  std::string resource_version;
  int64_t code = 0;
  std::string message;
};

// Errors say what is malformed: not JSON, a missing type or object, a field of the wrong type.
Result<WatchEvent> parseWatchEvent(std::string_view line);

}  // namespace kw::kube
