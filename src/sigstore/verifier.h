// Sigstore (cosign) signature checks behind the `oci/v1/verify` and `oci/v2/verify` host
// capabilities (spec §2.4) and `kwctl verify`. Signatures are read from the registry as cosign
// stores them: the `sha256-<digest>.sig` tag beside the image, one simple-signing layer per
// signature with the signature in the `dev.cosignproject.cosign/signature` annotation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/registry_client.h"

namespace kw::sigstore {

struct VerificationConfig;  // sigstore/constraints.h

// What keyless signatures are checked against.
struct TrustRoot {
  std::vector<std::string> fulcio_certs_pem;  // root (and intermediate) certificates
  std::string rekor_public_key_pem;           // optional
};

class Verifier {
 public:
  Verifier(oci::RegistryClient& registry, TrustRoot trust_root);
  ~Verifier();

  // `payload` is SigstoreVerificationInputV1 (externally tagged) or V2 (internally tagged);
  // the reply is upstream's `{"is_trusted":bool,"digest":"sha256:…"}`.
  Result<std::string> verifyV1(std::string_view payload);
  Result<std::string> verifyV2(std::string_view payload);

  // Checks `image` against a verification config (spec §1.6), as `kwctl verify` and the
  // policy-server's `--verification-path` do; returns the verified manifest digest.
  // Upstream's error texts ("Image verification failed: missing signatures…",
  // "no signatures found for image: …").
  Result<std::string> verifyConfig(std::string_view image, const VerificationConfig& config);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kw::sigstore
