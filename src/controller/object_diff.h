// One comparison instead of upstream's shouldUpdate… checks: the object we computed (desired)
// against the one the API server holds (live).
#pragma once

#include <nlohmann/json.hpp>

namespace kw::controller {

// True iff some field set in `desired` differs in `live`. Fields only `live` has are ignored
// (the API server adds and defaults them), and a key absent from `live` equals a zero value
// ("", 0, false, null, {}, []) in `desired`, as Go's omitempty drops those. A few maps we own
// whole are compared both ways, so a key someone added there counts as a difference: pod
// template labels and annotations (except kubectl.kubernetes.io/restartedAt), pod and container
// securityContexts, Service and PDB selectors, webhook namespace/object selectors (there a
// stored false or 0 counts, e.g. runAsUser: 0; only null, {} and [] count as absent). Metadata:
// only our labels, annotations and ownerReferences are compared.
bool needsUpdate(const nlohmann::json& desired, const nlohmann::json& live);

// The object to PUT: `live` with our labels and annotations merged into its metadata (its
// resourceVersion, uid and everyone else's keys kept), ownerReferences ours, and every other
// top-level field of `desired` (spec, data, webhooks, type…) replacing live's. What the API
// server allocated (Service clusterIP(s), ipFamilies, ipFamilyPolicy) and a pod template's
// restartedAt annotation are carried over from `live`.
nlohmann::json mergedForUpdate(const nlohmann::json& desired, const nlohmann::json& live);

}  // namespace kw::controller
