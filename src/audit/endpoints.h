// Where a PolicyServer answers (spec §5.2, issue 12 point 2): its Service in the Kubewarden
// namespace, resolved through the Service's EndpointSlices to every ready Pod address, so
// audit requests spread over all replicas instead of the one a kept-alive connection to the
// Service would pin. Without ready endpoints the Service name is used, as upstream does.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace kw::audit {

// One way to reach a policy-server: requests go to `base_url` (its host names the Service, so
// TLS is verified against the Service's DNS name) and, when `address` is set, the connection
// is made to that Pod address:port instead of resolving the host.
struct Target {
  std::string base_url;  // https://policy-server-<ps>.<ns>.svc:8443
  std::string address;   // "10.244.0.5:8443", "" to resolve base_url's host
  bool operator==(const Target&) const = default;
};

// Round-robin over a PolicyServer's targets; safe to share between threads.
class TargetSet {
 public:
  explicit TargetSet(std::vector<Target> targets) : targets_(std::move(targets)) {}
  const Target& next() { return targets_[counter_.fetch_add(1) % targets_.size()]; }
  const std::vector<Target>& all() const { return targets_; }

 private:
  std::vector<Target> targets_;
  std::atomic<size_t> counter_{0};
};

// The Service's base URL, https://<name>.<ns>.svc:<ports[0].port>.
Result<std::string> serviceBaseUrl(const nlohmann::json& service);

// The ready endpoints of `slices` (EndpointSlice objects of the Service) for the Service port
// named `port_name` ("" matches an unnamed or the only port), as targets of `base_url`.
// An endpoint counts as ready unless conditions.ready is false (the API's own reading).
std::vector<Target> readyTargets(const nlohmann::json& slices, const std::string& port_name,
                                 const std::string& base_url);

}  // namespace kw::audit
