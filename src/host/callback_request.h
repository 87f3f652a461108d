// The typed host-capability request, Kubewarden's `CallbackRequestType`: what a guest payload
// decodes to once the dispatcher knows the capability, what the record/replay session stores
// (as serde_yaml writes it: `!KubernetesGetResource` followed by the fields in declaration
// order) and what replay compares. Fields are kept as JSON values checked against a per-variant
// schema, so equality is value equality (maps compare unordered, like Rust's HashMap).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw::host {

struct CallbackRequest {
  std::string type;       // the variant, e.g. "KubernetesGetResource"
  nlohmann::json fields;  // every schema field present (absent optionals are null)

  bool operator==(const CallbackRequest&) const = default;
};

// Decodes `value` (a JSON object with the variant's snake_case fields, unknown keys ignored) as
// variant `type`. Errors read like serde's: "missing field `kind`", "invalid type: …".
Result<CallbackRequest> requestFromJson(std::string_view type, const nlohmann::json& value);

// Parses one recorded request: the YAML text `!<Variant>\n<field>: <value>\n…`.
Result<CallbackRequest> requestFromYaml(std::string_view yaml);

// The YAML text serde_yaml writes for the request (what a session file stores).
std::string requestToYaml(const CallbackRequest& request);

// Rust's `{:?}` of the request, used in replay mismatch errors:
// `KubernetesGetResource { api_version: "v1", kind: "Namespace", name: "x", namespace: None,
// disable_cache: false }`.
std::string requestDebug(const CallbackRequest& request);

// A stable key for caches: the variant plus its canonical field JSON.
std::string requestKey(const CallbackRequest& request);

// The SigstoreVerificationInputV2 JSON (internally tagged by "type") for a Sigstore* request.
std::string sigstoreV2Payload(const CallbackRequest& request);

// The variant names.
inline constexpr std::string_view kOciManifestDigest = "OciManifestDigest";
inline constexpr std::string_view kSigstorePubKeyVerify = "SigstorePubKeyVerify";
inline constexpr std::string_view kSigstoreKeylessVerify = "SigstoreKeylessVerify";
inline constexpr std::string_view kSigstoreKeylessPrefixVerify = "SigstoreKeylessPrefixVerify";
inline constexpr std::string_view kSigstoreGithubActionsVerify = "SigstoreGithubActionsVerify";
inline constexpr std::string_view kSigstoreCertificateVerify = "SigstoreCertificateVerify";
inline constexpr std::string_view kDnsLookupHost = "DNSLookupHost";
inline constexpr std::string_view kKubernetesListResourceNamespace =
    "KubernetesListResourceNamespace";
inline constexpr std::string_view kKubernetesListResourceAll = "KubernetesListResourceAll";
inline constexpr std::string_view kKubernetesGetResource = "KubernetesGetResource";
inline constexpr std::string_view kKubernetesGetResourcePluralName =
    "KubernetesGetResourcePluralName";

bool isSigstoreRequest(std::string_view type);

}  // namespace kw::host
