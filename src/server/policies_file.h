// The policy-server's input files: policies.yml (spec §1.4: policy id → module URL, mode,
// settings...) and sources.yml (§1.5: registries to reach insecurely or with extra CAs), plus
// the seam that turns a policy URL into a local module file (Fetcher).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "admission/admission_response.h"
#include "common/result.h"
#include "oci/sources.h"
#include "policy/metadata.h"

namespace kw::server {

enum class PolicyMode { Protect, Monitor };
std::string_view toString(PolicyMode mode);  // "protect", "monitor"

struct PolicyEntry {
  std::string url;
  PolicyMode mode = PolicyMode::Protect;
  bool allowed_to_mutate = false;
  admission::Json settings = admission::Json::object();  // always a JSON object
  std::set<policy::ContextAwareResource> context_aware_resources;
};

// Policy id → entry. Ids are unique (a duplicate key is an error).
using PolicyMap = std::map<std::string, PolicyEntry>;

// `text` is YAML or JSON; `source` names the file in error messages, e.g.
// `policies.yml: policy "psp": field "policyMode": expected protect or monitor`.
// Unknown keys are ignored (the controller adds namespacedName). An empty file holds no policy.
Result<PolicyMap> parsePolicies(std::string_view text, std::string_view source);
Result<PolicyMap> readPoliciesFile(const std::filesystem::path& path);

// sources.yml lives with the OCI client, which is its main reader.
using oci::SourceAuthority;
using oci::Sources;
using oci::parseSources;
using oci::readSourcesFile;

// Turns a policy URL into a local module file. Only plain paths and file:// URLs are served
// today; registry:// and http(s):// come with the OCI fetcher, which will replace this one.
using Fetcher = std::function<Result<std::filesystem::path>(const std::string& url)>;
Result<std::filesystem::path> fetchLocal(const std::string& url);

}  // namespace kw::server
