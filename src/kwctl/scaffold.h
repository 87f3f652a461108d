// kwctl scaffold: documents generated from a policy's metadata. Pure functions, so the YAML
// can be checked without a policy on disk.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/metadata.h"

namespace kw::kwctl {

struct ManifestRequest {
  std::string uri;   // goes to spec.module as given
  std::string type;  // ClusterAdmissionPolicy | AdmissionPolicy
  std::string settings_yaml = "{}";
  std::optional<std::string> title{};  // else the io.kubewarden.policy.title annotation
  bool allow_context_aware = false;
};

// A policies.kubewarden.io/v1 resource. `warnings` receives upstream's notes about
// contextAwareResources (left empty unless allowed).
Result<std::string> scaffoldManifest(const ManifestRequest& request,
                                     const policy::Metadata& metadata,
                                     std::vector<std::string>& warnings);

// The default verification config (GitHub Actions signatures of the kubewarden owner), headed
// by a comment naming where it is read from.
std::string scaffoldVerificationConfig(const std::filesystem::path& default_path);

// artifacthub-pkg.yml for the policy; `created_at` is an RFC 3339 UTC timestamp.
Result<std::string> scaffoldArtifacthub(const policy::Metadata& metadata,
                                        const std::string& version,
                                        const std::optional<std::string>& questions,
                                        const std::string& created_at);

}  // namespace kw::kwctl
