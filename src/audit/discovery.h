// Which of a policy's GVRs exist and whether they are namespaced: the API's discovery
// documents (/api/v1, /apis/<group>/<version>), fetched once per group version.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "audit/policy.h"
#include "common/result.h"
#include "kube/client.h"

namespace kw::audit {

class Discovery {
 public:
  explicit Discovery(std::shared_ptr<kube::Client> client) : client_(std::move(client)) {}
  // The type behind `gvr`; nullopt when the API does not serve it (unknown group, version or
  // resource: upstream skips those with a warning).
  Result<std::optional<kube::ResourceType>> find(const Gvr& gvr);

 private:
  std::shared_ptr<kube::Client> client_;
  std::mutex mu_;
  // group version -> its resources (nullopt: the group version is not served)
  std::map<std::string, std::optional<std::map<std::string, kube::ResourceType>>> cache_;
};

// The resources of one discovery document (an APIResourceList), subresources left out.
std::map<std::string, kube::ResourceType> resourcesOf(const nlohmann::json& list,
                                                      const std::string& group_version);

}  // namespace kw::audit
