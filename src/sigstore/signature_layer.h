// Cosign signature layers as read from the `sha256-<hex>.sig` manifest, reduced to what the
// verification constraints look at. Like sigstore-rs, a layer that fails a structural check
// (media type, blob digest, payload naming another image, missing signature, bad Rekor bundle)
// is skipped; a certificate that does not chain to the Fulcio roots only loses its identity.
// As in sigstore-rs, a certificate counts only with a verified Rekor bundle bound to the layer:
// a Fulcio certificate lives for minutes, and only the log proves it signed within them.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sigstore/crypto.h"
#include "sigstore/verifier.h"

namespace kw::sigstore {

inline constexpr const char* kSimpleSigningMediaType =
    "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr const char* kSignatureAnnotation = "dev.cosignproject.cosign/signature";
inline constexpr const char* kCertificateAnnotation = "dev.sigstore.cosign/certificate";
inline constexpr const char* kChainAnnotation = "dev.sigstore.cosign/chain";
inline constexpr const char* kBundleAnnotation = "dev.sigstore.cosign/bundle";
inline constexpr const char* kCosignSignatureType = "cosign container image signature";

// TrustRoot parsed once.
struct ParsedTrust {
  std::vector<Cert> fulcio;
  Pkey rekor;  // null when no Rekor key is configured
};
Result<ParsedTrust> parseTrustRoot(const TrustRoot& root);

// One layer of the signature manifest with its blob.
struct RawLayer {
  std::string media_type;
  std::string digest;
  std::map<std::string, std::string> annotations;
  std::string blob;
};

struct SignatureLayer {
  std::string payload;                     // the simple-signing bytes, exactly as signed
  std::string signature;                   // decoded from the signature annotation
  nlohmann::json optional = nullptr;       // the payload's "optional" object
  std::optional<int64_t> integrated_time;  // from a bundle verified with the Rekor key
  // Set when the certificate annotation chains to the Fulcio roots, has the code-signing
  // usages and its key verifies the payload signature.
  std::optional<CertIdentity> identity;
};

std::vector<SignatureLayer> buildSignatureLayers(const std::vector<RawLayer>& raw,
                                                 const std::string& image_digest,
                                                 const ParsedTrust& trust);

// What a Rekor entry must have logged to vouch for one signature layer.
struct LoggedArtifact {
  std::string_view payload;                      // the signed bytes
  std::string_view signature;                    // raw signature bytes
  const std::string* certificate_pem = nullptr;  // the layer's certificate, if it has one
};

// Verifies a cosign Rekor bundle annotation: the `SignedEntryTimestamp` over the canonical JSON
// of `Payload` with `rekor_key`, and that the logged entry (a hashedrekord or rekord body) is
// this layer's: the payload hash, the signature and the certificate (or, for key-signed layers,
// a key that verifies the signature). Returns the entry's integratedTime.
Result<int64_t> verifyRekorBundle(const std::string& bundle_json, EVP_PKEY* rekor_key,
                                  const LoggedArtifact& artifact);

}  // namespace kw::sigstore
