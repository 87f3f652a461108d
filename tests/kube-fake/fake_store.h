// The object store of the fake Kubernetes API server (a test double): registered resource
// types, objects, one global resourceVersion counter and a bounded event history for watches.
// Every REST verb answers with an HTTP status and a body, Status objects included.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kube/selector.h"

namespace kw::kube::fake {

struct FakeType {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  std::string plural;
  bool namespaced = false;
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "ingresses.networking.k8s.io", as the API names resources in messages.
  std::string qualified() const { return group.empty() ? plural : plural + "." + group; }
};

// Namespace, Pod, Service, ConfigMap, Secret, Ingress, Deployment.
std::vector<FakeType> builtinTypes();

struct FakeReply {
  int status = 200;
  std::string body;
};

// A Kubernetes Status object for a failed request.
FakeReply statusReply(int code, const std::string& reason, const std::string& message,
                      nlohmann::json details = nlohmann::json::object());

struct FakeEvent {
  uint64_t rv = 0;
  size_t type = 0;
  std::string ns, name;
  Labels labels;
  std::string line;  // `{"type":…,"object":…}` without the newline
};

struct ListQuery {
  std::string ns;
  std::string label_selector, field_selector;
  int64_t limit = 0;
  std::string continue_token;
};

class FakeStore {
 public:
  explicit FakeStore(size_t history_limit) : history_limit_(history_limit) {}

  size_t registerType(FakeType type);  // returns its index; re-registering replaces
  std::optional<size_t> findType(const std::string& group, const std::string& version,
                                 const std::string& plural) const;
  std::optional<size_t> findKind(const std::string& api_version, const std::string& kind) const;
  std::vector<FakeType> types() const;
  FakeType type(size_t index) const;

  FakeReply get(size_t type, const std::string& ns, const std::string& name);
  FakeReply list(size_t type, const ListQuery& query);
  FakeReply create(size_t type, const std::string& ns, const std::string& body);
  FakeReply update(size_t type, const std::string& ns, const std::string& name,
                   const std::string& body);
  FakeReply patch(size_t type, const std::string& ns, const std::string& name,
                  const std::string& content_type, const std::string& body);
  FakeReply remove(size_t type, const std::string& ns, const std::string& name);
  // Test-side: create or replace without checks; returns the stored object's JSON.
  std::string upsert(size_t type, nlohmann::json object);

  // Watch support. `initial` gets synthetic ADDED lines when `rv` is empty or "0".
  struct WatchCursor {
    uint64_t from = 0;
    bool expired = false;
  };
  WatchCursor startWatch(size_t type, const std::string& rv, const ListQuery& filter,
                         std::vector<std::string>& initial);
  // With mutex() held: appends the lines of matching events after cursor.from and advances
  // it; sets `expired` if the history no longer reaches back to cursor.from.
  void eventsSinceLocked(size_t type, const ListQuery& filter, WatchCursor& cursor,
                         std::vector<std::string>& lines);
  std::string expiredLine(uint64_t from) const;
  std::string bookmarkLine(size_t type, uint64_t rv) const;

  uint64_t resourceVersion() const;
  void compactHistory();  // forgets every past event: older versions now get 410
  std::mutex& mutex() { return mu_; }
  std::condition_variable& changed() { return changed_; }
  uint64_t resourceVersionLocked() const { return rv_; }

 private:
  using Key = std::pair<std::string, std::string>;
  struct Objects {
    FakeType type;
    std::map<Key, nlohmann::json> items;  // without apiVersion/kind, as list items are served
  };
  std::string fullText(const Objects& objs, const nlohmann::json& obj) const;
  void record(size_t type, const char* event, const nlohmann::json& obj);
  FakeReply notFound(const FakeType& t, const std::string& name) const;
  FakeReply store(size_t type, nlohmann::json obj, const char* event, int status);

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Objects> types_;
  uint64_t rv_ = 1;
  uint64_t floor_ = 1;  // every event with rv > floor_ is still in history_
  std::deque<FakeEvent> history_;
  size_t history_limit_;
  uint64_t uid_counter_ = 0;
};

}  // namespace kw::kube::fake
