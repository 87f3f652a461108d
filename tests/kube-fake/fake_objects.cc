#include "kube-fake/fake_objects.h"

#include <fmt/format.h>

#include "kube-fake/fake_api_server.h"

namespace kw::kube::fake {

using json = nlohmann::json;

json makeNamespace(size_t index) {
  std::string name = fmt::format("team-{:05}", index);
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/metadata.name", name},
              {"owner", fmt::format("group-{}", index % 50)},
              {"environment", index % 3 == 0 ? "production" : "staging"}}},
            {"annotations", {{"scheduler.alpha.kubernetes.io/node-selector", "pool=general"}}}}},
          {"spec", {{"finalizers", {"kubernetes"}}}},
          {"status", {{"phase", "Active"}}}};
}

json makeIngress(size_t index, size_t namespaces) {
  std::string ns = fmt::format("team-{:05}", index % namespaces);
  std::string name = fmt::format("web-{:06}", index);
  std::string host = fmt::format("{}.{}.apps.example.com", name, ns);
  json path = {{"path", "/"},
               {"pathType", "Prefix"},
               {"backend", {{"service", {{"name", name}, {"port", {{"number", 8080}}}}}}}};
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "Ingress"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"labels", {{"app.kubernetes.io/name", name}, {"app.kubernetes.io/part-of", "shop"}}},
            {"annotations",
             {{"nginx.ingress.kubernetes.io/rewrite-target", "/"},
              {"cert-manager.io/cluster-issuer", "letsencrypt-prod"}}}}},
          {"spec",
           {{"ingressClassName", "nginx"},
            {"tls", {{{"hosts", {host}}, {"secretName", name + "-tls"}}}},
            {"rules", {{{"host", host}, {"http", {{"paths", {path}}}}}}}}},
          {"status", {{"loadBalancer", {{"ingress", {{{"ip", "203.0.113.10"}}}}}}}}};
}

void populate(FakeApiServer& server, size_t namespaces, size_t ingresses) {
  for (size_t i = 0; i < namespaces; ++i) (void)server.put(makeNamespace(i));
  for (size_t i = 0; i < ingresses && namespaces > 0; ++i)
    (void)server.put(makeIngress(i, namespaces));
}

}  // namespace kw::kube::fake
