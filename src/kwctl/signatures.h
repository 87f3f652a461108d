// Cosign signatures stored beside a policy in its registry: the `sha256-<hex>.sig` tag that
// cosign writes next to the image, one layer per signature.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/registry_client.h"

namespace kw::kwctl {

struct SignatureLayer {
  std::string digest;
  std::string media_type;
  uint64_t size = 0;
  std::vector<std::pair<std::string, std::string>> annotations;
};

// nullopt when the policy has no signature tag.
Result<std::optional<std::vector<SignatureLayer>>> fetchSignatures(oci::RegistryClient& client,
                                                                   const std::string& uri);
// The cosign tag for a manifest digest: "sha256:ab…" → "sha256-ab….sig".
std::string signatureTag(const std::string& manifest_digest);
// The layers of a signature manifest (OCI image manifest JSON).
Result<std::vector<SignatureLayer>> parseSignatureManifest(const std::string& json);
std::string renderSignatures(const std::vector<SignatureLayer>& layers);

}  // namespace kw::kwctl
