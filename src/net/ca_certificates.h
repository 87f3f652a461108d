// Certificate authorities trusted beside the system roots (sources.yml's source_authorities,
// the audit scanner's --extra-ca). Parsed once; every TLS connection that names them gets them
// added to its verify store, so the system roots keep working too.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

typedef struct x509_st X509;
typedef struct ssl_ctx_st SSL_CTX;

namespace kw::net {

class CaCertificates {
 public:
  CaCertificates() = default;
  ~CaCertificates();
  CaCertificates(const CaCertificates&) = delete;
  CaCertificates& operator=(const CaCertificates&) = delete;

  // One or more PEM certificates, or one DER certificate; nothing is added on failure.
  Status add(const std::string& pem_or_der);
  bool empty() const { return certs_.empty(); }
  // Adds every certificate to `ctx`'s verify store.
  void addTo(SSL_CTX* ctx) const;

 private:
  std::vector<X509*> certs_;
};

}  // namespace kw::net
