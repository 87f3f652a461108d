// The controller's X.509 material (spec §4.3): one self-signed root CA shared by every
// policy-server, and per-server serving certificates it signs. OpenSSL 3 EVP APIs only.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kw::certs {

// Kept as bytes, not OpenSSL handles, so the CA copies freely and round-trips through the
// root CA Secret unchanged. The key is RSA in PKCS#1 DER, the form upstream stores under
// `policy-server-root-ca-privatekey-cert`, so a Secret written by upstream loads here too.
struct CertificateAuthority {
  std::string cert_der;
  std::string cert_pem;
  std::string key_der;  // PKCS#1 RSAPrivateKey
};

struct ServingCert {
  std::string cert_pem;
  std::string key_pem;  // PKCS#1 "RSA PRIVATE KEY", as upstream writes it
};

// A fresh self-signed CA (CA:TRUE, keyCertSign), valid 10 years from now.
Result<CertificateAuthority> makeRootCa();

// Reads a CA back from what a root CA Secret holds. Each argument may be PEM or DER; the key
// may be PKCS#1 or PKCS#8. Fails with a message naming the part that did not parse, or when
// the key does not belong to the certificate.
Result<CertificateAuthority> loadCa(std::string_view cert, std::string_view key);

// A serving certificate signed by `ca`: CN = the first DNS name (or first IP), SANs = every
// DNS name and IP address given, serverAuth + clientAuth, valid 1 year (as upstream).
// An entry of `ip_sans` that is not an IPv4/IPv6 literal is an error naming it.
Result<ServingCert> issueServingCert(const CertificateAuthority& ca,
                                     const std::vector<std::string>& dns_sans,
                                     const std::vector<std::string>& ip_sans = {});

// What a certificate says about itself, for tests and for deciding whether a stored serving
// certificate can be kept (see servingCertFits).
struct CertInfo {
  std::string subject_cn;
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;
  bool is_ca = false;
  std::chrono::system_clock::time_point not_before, not_after;
};
Result<CertInfo> inspect(std::string_view cert_pem_or_der);

// Ok iff `cert_pem` chains to `ca` (X509_verify_cert), is within its validity and names
// `dns_name` among its SANs; otherwise the reason. A stored serving Secret is reused only
// when this holds (upstream never regenerates it; we also replace one a new CA cannot verify).
Status servingCertFits(const CertificateAuthority& ca, std::string_view cert_pem,
                       std::string_view dns_name);

// PEM <-> DER for one certificate.
Result<std::string> certPemToDer(std::string_view pem);
Result<std::string> certDerToPem(std::string_view der);

}  // namespace kw::certs
