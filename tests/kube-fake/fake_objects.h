// Realistic objects for filling the fake Kubernetes API server (benchmarks, large-list tests).
#pragma once

#include <nlohmann/json.hpp>

namespace kw::kube::fake {

class FakeApiServer;

nlohmann::json makeNamespace(size_t index);
// Ingress `index` lives in namespace `index % namespaces`.
nlohmann::json makeIngress(size_t index, size_t namespaces);
// Adds `namespaces` Namespaces and `ingresses` Ingresses.
void populate(FakeApiServer& server, size_t namespaces, size_t ingresses);

}  // namespace kw::kube::fake
