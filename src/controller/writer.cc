#include "controller/writer.h"

#include <spdlog/spdlog.h>

namespace kw::controller {

using json = nlohmann::json;

namespace {

constexpr int kConflictRetries = 5;

std::string metaString(const json& object, const char* field) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  return meta->value(field, "");
}

}  // namespace

std::string describeObject(const json& object) {
  std::string ns = metaString(object, "namespace");
  std::string name = metaString(object, "name");
  return object.value("kind", "object") + " " + (ns.empty() ? name : ns + "/" + name);
}

ApiReply Writer::send(std::string_view method, const std::string& path, const json* body,
                      std::string_view content_type, const std::string& what) {
  ApiReply out;
  auto reply = client_->request(method, path, body ? body->dump() : std::string(), content_type);
  if (!reply) {
    if (metrics_) metrics_->countRequest(std::string(method), 0);
    out.message = what + ": " + reply.error().message;
    return out;
  }
  if (metrics_) metrics_->countRequest(std::string(method), reply->status);
  out.status = reply->status;
  out.object = json::parse(reply->body, nullptr, false);
  if (out.object.is_discarded()) out.object = json();
  if (!out.ok()) out.message = kube::apiError(reply->status, reply->body, what).message;
  return out;
}

ApiReply Writer::get(const kube::ResourceType& type, std::string_view ns, std::string_view name) {
  std::string path = kube::resourcePath(type, ns, name);
  return send("GET", path, nullptr, {}, "reading " + path);
}

ApiReply Writer::create(const kube::ResourceType& type, const json& object) {
  std::string path = kube::resourcePath(type, metaString(object, "namespace"));
  return send("POST", path, &object, "application/json", "creating " + describeObject(object));
}

ApiReply Writer::replace(const kube::ResourceType& type, const json& object) {
  std::string path =
      kube::resourcePath(type, metaString(object, "namespace"), metaString(object, "name"));
  return send("PUT", path, &object, "application/json", "updating " + describeObject(object));
}

ApiReply Writer::replaceStatus(const kube::ResourceType& type, const json& object) {
  std::string path =
      kube::resourcePath(type, metaString(object, "namespace"), metaString(object, "name")) +
      "/status";
  return send("PUT", path, &object, "application/json",
              "updating the status of " + describeObject(object));
}

ApiReply Writer::mergePatch(const kube::ResourceType& type, std::string_view ns,
                            std::string_view name, const json& patch) {
  std::string path = kube::resourcePath(type, ns, name);
  return send("PATCH", path, &patch, "application/merge-patch+json", "patching " + path);
}

ApiReply Writer::remove(const kube::ResourceType& type, std::string_view ns,
                        std::string_view name) {
  std::string path = kube::resourcePath(type, ns, name);
  ApiReply reply = send("DELETE", path, nullptr, {}, "deleting " + path);
  if (reply.status == 404) {
    reply.status = 200;
    reply.message.clear();
  }
  return reply;
}

Result<json> Writer::ensure(const kube::ResourceType& type, const json& desired,
                            std::optional<json> cached, const UpdatePolicy& policy) {
  std::optional<json> current = std::move(cached);
  for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
    ApiReply reply;
    if (!current) {
      reply = create(type, desired);
      if (reply.ok()) return std::move(reply.object);
      if (reply.status != 409) return makeError(reply.message);
      // The cache was behind: someone (or our previous write) created it. Read it once.
    } else {
      if (!policy.needs_update(desired, *current)) return std::move(*current);
      reply = replace(type, policy.merged(desired, *current));
      if (reply.ok()) return std::move(reply.object);
      if (reply.status != 409 && reply.status != 404) return makeError(reply.message);
      if (reply.status == 404) {  // deleted under us: create it again
        current.reset();
        continue;
      }
    }
    spdlog::debug("{}: conflict, retrying with fresh state", describeObject(desired));
    ApiReply fresh = get(type, metaString(desired, "namespace"), metaString(desired, "name"));
    if (fresh.status == 404) {
      current.reset();
    } else if (fresh.ok()) {
      current = std::move(fresh.object);
    } else {
      return makeError(fresh.message);
    }
  }
  return makeError("giving up on " + describeObject(desired) + " after " +
                   std::to_string(kConflictRetries) + " conflicting writes");
}

}  // namespace kw::controller
