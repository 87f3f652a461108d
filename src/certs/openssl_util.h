// OpenSSL handles and parsers shared by the certs sources (not part of the public API).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/openssl_error.h"
#include "common/result.h"

namespace kw::certs::detail {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* c) const { X509_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string bioText(BIO* bio);

// PEM ("-----BEGIN CERTIFICATE-----") or DER, told apart by the PEM header.
Result<X509Ptr> parseCert(std::string_view pem_or_der);
// PEM (PKCS#1 or PKCS#8) or DER (PKCS#1 or PKCS#8).
Result<KeyPtr> parsePrivateKey(std::string_view pem_or_der);

}  // namespace kw::certs::detail
