#include "audit/discovery.h"

#include <nlohmann/json.hpp>

namespace kw::audit {

using json = nlohmann::json;

std::map<std::string, kube::ResourceType> resourcesOf(const json& list,
                                                      const std::string& group_version) {
  std::map<std::string, kube::ResourceType> out;
  for (const json& r : list.value("resources", json::array())) {
    std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;
    out[name] = {{group_version, r.value("kind", "")}, name, r.value("namespaced", false)};
  }
  return out;
}

Result<std::optional<kube::ResourceType>> Discovery::find(const Gvr& gvr) {
  const std::string gv = gvr.apiVersion();
  std::lock_guard lock(mu_);
  auto it = cache_.find(gv);
  if (it == cache_.end()) {
    std::string path = gvr.group.empty() ? "/api/" + gvr.version : "/apis/" + gv;
    auto reply = client_->request("GET", path);
    if (!reply) return reply.error();
    std::optional<std::map<std::string, kube::ResourceType>> entry;
    if (reply->status == 200) {
      json doc = json::parse(reply->body, nullptr, false);
      if (doc.is_discarded()) return makeError("discovery " + path + ": malformed JSON");
      entry = resourcesOf(doc, gv);
    } else if (reply->status != 404) {
      return kube::apiError(reply->status, reply->body, "discovering " + path);
    }
    it = cache_.emplace(gv, std::move(entry)).first;
  }
  if (!it->second) return std::optional<kube::ResourceType>();
  auto r = it->second->find(gvr.resource);
  if (r == it->second->end()) return std::optional<kube::ResourceType>();
  return std::optional<kube::ResourceType>(r->second);
}

}  // namespace kw::audit
