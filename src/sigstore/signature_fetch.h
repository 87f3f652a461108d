// Reads an image's cosign signatures from its registry: the image's manifest digest, then the
// `sha256-<hex>.sig` manifest beside it and each layer's blob and annotations.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/registry_client.h"
#include "sigstore/signature_layer.h"

namespace kw::sigstore {

struct SignatureData {
  std::string image;         // the fully resolved reference, for messages
  std::string image_digest;  // "sha256:…"
  std::vector<RawLayer> layers;
};

// The signature manifest's tag for an image digest: "sha256:abc" → "sha256-abc.sig".
std::string signatureTag(const std::string& image_digest);

// A missing signature manifest is upstream's error "no signatures found for image: <image> ".
Result<SignatureData> fetchSignatureData(oci::RegistryClient& registry, std::string_view image);

// The layers of a signature manifest (OCI or Docker schema 2 JSON), without blobs.
Result<std::vector<RawLayer>> parseSignatureManifest(const std::string& manifest_json);

}  // namespace kw::sigstore
