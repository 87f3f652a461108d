#include "audit/endpoints.h"

#include <set>

namespace kw::audit {

using json = nlohmann::json;

Result<std::string> serviceBaseUrl(const json& service) {
  const json meta = service.value("metadata", json::object());
  std::string name = meta.value("name", ""), ns = meta.value("namespace", "");
  const json ports = service.value("spec", json::object()).value("ports", json::array());
  if (!ports.is_array() || ports.empty() || !ports[0].contains("port"))
    return makeError("Service " + ns + "/" + name + " has no port");
  return "https://" + name + "." + ns + ".svc:" + std::to_string(ports[0]["port"].get<int>());
}

std::vector<Target> readyTargets(const json& slices, const std::string& port_name,
                                 const std::string& base_url) {
  std::vector<Target> out;
  std::set<std::string> seen;
  if (!slices.is_array()) return out;
  for (const json& slice : slices) {
    int port = 0;
    const json ports = slice.value("ports", json::array());
    for (const json& p : ports)
      if (p.value("name", "") == port_name || ports.size() == 1) port = p.value("port", 0);
    if (port == 0) continue;
    for (const json& ep : slice.value("endpoints", json::array())) {
      const json cond = ep.value("conditions", json::object());
      if (cond.contains("ready") && cond["ready"].is_boolean() && !cond["ready"].get<bool>())
        continue;
      for (const json& addr : ep.value("addresses", json::array())) {
        std::string a = addr.get<std::string>();
        // IPv6 addresses go in brackets, as in a URL.
        std::string hostport =
            (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + std::to_string(port);
        if (seen.insert(hostport).second) out.push_back({base_url, hostport});
      }
    }
  }
  return out;
}

}  // namespace kw::audit
