// Extra certificate authorities from sources.yml `source_authorities`, parsed once and added
// to each TLS connection's verify store, so the system roots keep working beside them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/sources.h"

typedef struct x509_st X509;
typedef struct ssl_ctx_st SSL_CTX;

namespace kw::oci {

class TlsAuthorities {
 public:
  explicit TlsAuthorities(const Sources& sources);
  ~TlsAuthorities();
  TlsAuthorities(const TlsAuthorities&) = delete;
  TlsAuthorities& operator=(const TlsAuthorities&) = delete;

  bool has(const std::string& host) const;
  // An error when one of the host's authorities could not be loaded; requests to it fail.
  Status status(const std::string& host) const;
  // For CURLOPT_SSL_CTX_FUNCTION: adds the host's CAs to `ctx`'s verify store.
  void addTo(SSL_CTX* ctx, const std::string& host) const;

 private:
  std::map<std::string, std::vector<X509*>> certs_;
  std::map<std::string, std::string> errors_;
};

}  // namespace kw::oci
