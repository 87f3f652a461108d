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
using oci::parseSources;
using oci::readSourcesFile;
using oci::SourceAuthority;
using oci::Sources;

// Turns a policy URL into a local module file. Must be callable from several threads at once:
// start-up downloads distinct URLs in parallel.
using Fetcher = std::function<Result<std::filesystem::path>(const std::string& url)>;

// The real fetcher (fetch::Fetcher): registry:// and https:// modules are downloaded into
// `download_dir` in the store layout; file:// URLs and plain paths are served from disk. A URL
// with no scheme that names no file is a registry reference (registry:// is added).
// `sources_path` (sources.yml) is read now, so a bad file stops start-up before any download;
// `docker_config_dir` holds the config.json with registry credentials. With
// `verification_path` (--verification-path), every policy must be a registry:// reference whose
// signatures satisfy that verification config; it is then downloaded by the verified digest, so
// what runs is what was verified. Any other URL is refused.
Result<Fetcher> makePolicyFetcher(const std::filesystem::path& download_dir,
                                  const std::optional<std::string>& sources_path,
                                  const std::optional<std::string>& docker_config_dir,
                                  const std::optional<std::string>& verification_path = {});

}  // namespace kw::server
