// The OpenSSL pieces sigstore verification needs: public keys, signatures over cosign
// payloads, X.509 chains checked at a chosen time, and the identity Fulcio writes into a
// signing certificate (SAN email/URI, OIDC issuer extension).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kw::sigstore {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* c) const { X509_free(c); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;
using Cert = std::shared_ptr<X509>;

// A PEM "PUBLIC KEY" (ECDSA, RSA or Ed25519).
Result<Pkey> parsePublicKeyPem(std::string_view pem);

// Signature over `message`: ECDSA/RSA with SHA-256 (cosign's default), Ed25519 as is.
bool verifySignature(EVP_PKEY* key, std::string_view message, std::string_view signature);

// Every certificate in a PEM bundle; DER when the bytes are not PEM. Empty input is an error.
Result<std::vector<Cert>> parseCertificates(std::string_view bytes);

// Verifies `leaf` up to one of `anchors` (trusted as given, also when not self-signed), with
// `intermediates` as untrusted helpers, at `at_time` (seconds since the epoch) or now.
Status verifyChain(X509* leaf, const std::vector<Cert>& intermediates,
                   const std::vector<Cert>& anchors, std::optional<int64_t> at_time);

// Whether `leaf` is valid at `at_time` (or now).
bool validAt(X509* leaf, std::optional<int64_t> at_time);

// What a Fulcio certificate says about its holder.
struct CertIdentity {
  std::optional<std::string> issuer;  // OIDC issuer extension (…57264.1.8, else …57264.1.1)
  std::string subject;                // SAN email, else SAN URI
  bool subject_is_email = false;
};
Result<CertIdentity> certIdentity(X509* cert);

// Fulcio leaves carry the digitalSignature key usage and the codeSigning extended key usage.
Status checkCodeSigningUsage(X509* cert);

// The certificate's public key (a new reference).
Pkey certPublicKey(X509* cert);

}  // namespace kw::sigstore
