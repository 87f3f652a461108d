// The Kubernetes objects one PolicyServer needs (spec §4.3, PDB §6b), computed as data: a
// PolicyServer object (and its policies) in, the object JSON to create out. No I/O here; the
// reconciler compares the result with the live object (object_diff.h) and writes.
//
// Every namespaced object goes into opts.deployments_namespace. The per-server objects carry an
// ownerReference to the PolicyServer (apiVersion, kind, name, uid: what controller-runtime's
// SetOwnerReference writes), so deleting the PolicyServer cascades; the PolicyServer must
// therefore carry metadata.uid. The shared root CA Secret has no owner.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs/certs.h"
#include "common/result.h"
#include "controller/options.h"

namespace kw::controller {

// Secret keys (spec §4.3).
inline constexpr std::string_view kRootCaCertKey = "policy-server-root-ca-cert";  // DER
inline constexpr std::string_view kRootCaPemKey = "policy-server-root-ca-pem";
inline constexpr std::string_view kRootCaKeyKey = "policy-server-root-ca-privatekey-cert";
inline constexpr std::string_view kServingCertKey = "policy-server-cert";
inline constexpr std::string_view kServingKeyKey = "policy-server-key";
// ConfigMap keys.
inline constexpr std::string_view kPoliciesKey = "policies.yml";
inline constexpr std::string_view kSourcesKey = "sources.yml";
inline constexpr int kPolicyServerPort = 8443;
// Left alone by comparisons and kept by updates: `kubectl rollout restart` sets it.
inline constexpr std::string_view kRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

// {"apiVersion":"policies.kubewarden.io/v1","kind":"PolicyServer","name","uid"}.
nlohmann::json policyServerOwnerReference(const nlohmann::json& policy_server);

// "policy-server-<ps>.<namespace>.svc": the serving certificate's SAN and CN.
std::string servingDnsName(std::string_view policy_server, const ControllerOptions& opts);

// Secret `policy-server-root-ca` (Opaque): the CA certificate as DER and PEM and its PKCS#1 key,
// under `data` (base64), as the API server returns it.
// Create it only when none exists (a fresh CA would break every stored serving certificate and
// caBundle); otherwise read the existing one with caFromRootCaSecret.
nlohmann::json rootCaSecret(const certs::CertificateAuthority& ca, const ControllerOptions& opts);
// The CA stored in a live root CA Secret (reuse it, never regenerate one that exists). The error
// names the missing key or what did not parse.
Result<certs::CertificateAuthority> caFromRootCaSecret(const nlohmann::json& secret);

// Secret `policy-server-<ps>` (Opaque) with `policy-server-cert`/`policy-server-key` (PEM).
nlohmann::json servingSecret(const nlohmann::json& policy_server, const certs::ServingCert& cert,
                             const ControllerOptions& opts);
// Issues a fresh serving certificate for the PolicyServer (SAN servingDnsName) and wraps it.
// Each call makes a new key, so never compare its result with a live Secret (needsUpdate would
// always say yes): keep a live one while certs::servingCertFits(ca, servingCertPem(live),
// servingDnsName(...)) holds, and issue only when it is missing or does not fit.
Result<nlohmann::json> servingSecret(const nlohmann::json& policy_server,
                                     const certs::CertificateAuthority& ca,
                                     const ControllerOptions& opts);
// The PEM certificate stored in a live serving Secret ("" when absent or not decodable).
std::string servingCertPem(const nlohmann::json& secret);

// ConfigMap `policy-server-<ps>`: label kubewarden/policy-server, data policies.yml and
// sources.yml (compact JSON text).
nlohmann::json configMap(const nlohmann::json& policy_server,
                         const std::vector<nlohmann::json>& policies,
                         const ControllerOptions& opts);

// Deployment `policy-server-<ps>`; `config_version` is the ConfigMap's resourceVersion (the
// annotation and pod-template label kubewarden/config-version, so a config change rolls out).
nlohmann::json deployment(const nlohmann::json& policy_server, std::string_view config_version,
                          const ControllerOptions& opts);

// Service `policy-server-<ps>`: port policy-server 8443, plus metrics when enabled.
nlohmann::json service(const nlohmann::json& policy_server, const ControllerOptions& opts);

// PodDisruptionBudget `policy-server-<ps>` (policy/v1) from spec.minAvailable or
// spec.maxUnavailable (int or percentage string; minAvailable wins if both slip through);
// nullopt when neither is set, and the reconciler then deletes any existing one.
std::optional<nlohmann::json> podDisruptionBudget(const nlohmann::json& policy_server,
                                                  const ControllerOptions& opts);

}  // namespace kw::controller
