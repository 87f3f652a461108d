// Kubewarden policy metadata: what `kwctl annotate` embeds in a policy module and what the
// policy-server and kwctl read back. The wire shape (camelCase JSON in the wasm custom section
// "io.kubewarden.metadata", camelCase YAML in metadata.yml) must stay identical to upstream so
// that modules annotated by either implementation are interchangeable.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kw::policy {

constexpr std::string_view kMetadataSection = "io.kubewarden.metadata";

// Well-known annotation keys.
constexpr std::string_view kAnnotationTitle = "io.kubewarden.policy.title";
constexpr std::string_view kAnnotationDescription = "io.kubewarden.policy.description";
constexpr std::string_view kAnnotationAuthor = "io.kubewarden.policy.author";
constexpr std::string_view kAnnotationUrl = "io.kubewarden.policy.url";
constexpr std::string_view kAnnotationSource = "io.kubewarden.policy.source";
constexpr std::string_view kAnnotationLicense = "io.kubewarden.policy.license";
constexpr std::string_view kAnnotationUsage = "io.kubewarden.policy.usage";
constexpr std::string_view kAnnotationKwctlVersion = "io.kubewarden.kwctl";

enum class ExecutionMode { KubewardenWapc, Opa, Gatekeeper, Wasi };
enum class PolicyType { Kubernetes, Raw };
// Unknown is also what an absent or null protocolVersion decodes to.
enum class ProtocolVersion { Unknown, V1 };

std::string_view toString(ExecutionMode mode);  // "kubewarden-wapc", "opa", "gatekeeper", "wasi"
std::string_view toString(PolicyType type);     // "kubernetes", "raw"
std::string_view toString(ProtocolVersion v);   // "Unknown", "v1"
std::optional<ExecutionMode> executionModeFromString(std::string_view s);
std::optional<PolicyType> policyTypeFromString(std::string_view s);
std::optional<ProtocolVersion> protocolVersionFromString(std::string_view s);

// One admission rule, same fields as a k8s RuleWithOperations. Operations are kept as strings
// so a typo is reported by validate() with its position instead of failing the whole parse.
struct Rule {
  std::vector<std::string> apiGroups;
  std::vector<std::string> apiVersions;
  std::vector<std::string> resources;
  std::vector<std::string> operations;

  bool operator==(const Rule&) const = default;
};

struct ContextAwareResource {
  std::string apiVersion;
  std::string kind;

  auto operator<=>(const ContextAwareResource&) const = default;
};

struct Metadata {
  ProtocolVersion protocolVersion = ProtocolVersion::Unknown;
  std::vector<Rule> rules;
  std::map<std::string, std::string> annotations;
  bool mutating = false;
  bool backgroundAudit = true;
  std::set<ContextAwareResource> contextAwareResources;
  ExecutionMode executionMode = ExecutionMode::KubewardenWapc;
  PolicyType policyType = PolicyType::Kubernetes;
  std::optional<std::string> minimumKubewardenVersion;

  bool operator==(const Metadata&) const = default;
};

// Decoders. `rules` and `mutating` are required, every other field has upstream's default;
// unknown keys are ignored (older kwctl releases wrote e.g. a boolean `contextAware`).
Result<Metadata> metadataFromJson(std::string_view json);
Result<Metadata> metadataFromYaml(std::string_view yaml);

// Compact JSON with upstream's field order: what goes into the custom section.
std::string metadataToJson(const Metadata& metadata);
// Block-style YAML that metadataFromYaml (and any YAML 1.2 parser) reads back unchanged.
std::string metadataToYaml(const Metadata& metadata);
// Just the rules, as a YAML sequence (inspect prints them on their own).
std::string rulesToYaml(const std::vector<Rule>& rules);
// The context-aware resources as a YAML list of {apiVersion, kind} maps ("[]\n" when empty).
std::string contextAwareResourcesToYaml(const std::set<ContextAwareResource>& resources);

// Upstream's semantic checks. On failure the message lists every problem, each prefixed by
// the offending field, e.g. "rules[0].operations[1]: 'PATCH' is not a valid operation ...".
Status validate(const Metadata& metadata);

// True for a semantic version as defined by semver.org 2.0 (what upstream's parser accepts).
bool isSemver(std::string_view version);

// The metadata stored in a module: nullopt when the module has no metadata section, an error
// when the bytes are not wasm or the section does not decode.
Result<std::optional<Metadata>> readMetadata(std::span<const uint8_t> wasm);
// A copy of the module whose metadata section (any previous one is dropped) holds `metadata`.
Result<std::vector<uint8_t>> writeMetadata(std::span<const uint8_t> wasm, const Metadata& metadata);

}  // namespace kw::policy
