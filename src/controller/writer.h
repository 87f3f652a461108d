// Every write the controller sends, through one place: create, replace, status replace, merge
// patch and delete on kube::Client::request, each counted in ControllerMetrics. ensure() is the
// reconcilers' one write path: it creates what is missing, replaces only when `needs_update`
// says the stored object differs, and on a 409 re-reads the object from the API and retries with
// that fresh state, so there are no create-then-409 loops and no blind overwrites.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "controller/metrics.h"
#include "kube/client.h"

namespace kw::controller {

struct ApiReply {
  long status = 0;         // HTTP status; 0 when the API could not be reached
  nlohmann::json object;   // the parsed body (the stored object on success)
  std::string message;     // on failure: one line naming the operation and the API's reason
  bool ok() const { return status >= 200 && status < 300; }
};

struct UpdatePolicy {
  // Whether `current` (stored) differs from `desired` in what the controller owns.
  std::function<bool(const nlohmann::json& desired, const nlohmann::json& current)> needs_update;
  // What to PUT: `desired` merged onto `current` (keeping the server's fields and the
  // resourceVersion, which makes the PUT conditional).
  std::function<nlohmann::json(const nlohmann::json& desired, const nlohmann::json& current)>
      merged;
};

class Writer {
 public:
  Writer(std::shared_ptr<kube::Client> client, ControllerMetrics* metrics)
      : client_(std::move(client)), metrics_(metrics) {}

  ApiReply get(const kube::ResourceType& type, std::string_view ns, std::string_view name);
  ApiReply create(const kube::ResourceType& type, const nlohmann::json& object);
  ApiReply replace(const kube::ResourceType& type, const nlohmann::json& object);
  ApiReply replaceStatus(const kube::ResourceType& type, const nlohmann::json& object);
  ApiReply mergePatch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                      const nlohmann::json& patch);
  // 404 counts as done (the object is gone either way).
  ApiReply remove(const kube::ResourceType& type, std::string_view ns, std::string_view name);

  // Makes the stored object match `desired`. `cached` is the informer's copy (nullopt: absent
  // from the cache). Returns the object as stored afterwards (unchanged when no write was due).
  Result<nlohmann::json> ensure(const kube::ResourceType& type, const nlohmann::json& desired,
                                std::optional<nlohmann::json> cached, const UpdatePolicy& policy);

  kube::Client& client() { return *client_; }

 private:
  ApiReply send(std::string_view method, const std::string& path, const nlohmann::json* body,
                std::string_view content_type, const std::string& what);

  std::shared_ptr<kube::Client> client_;
  ControllerMetrics* metrics_;
};

// "ConfigMap kubewarden/policy-server-default": how messages name an object.
std::string describeObject(const nlohmann::json& object);

}  // namespace kw::controller
