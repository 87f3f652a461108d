#include "net/ca_certificates.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/openssl_error.h"

namespace kw::net {
namespace {

Status parsePem(const std::string& text, std::vector<X509*>& out) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.push_back(cert);
  BIO_free(bio);
  ERR_clear_error();  // the loop always ends on a "no start line" error
  if (out.empty()) return makeError("no PEM certificate found");
  return okStatus();
}

Status parseDer(const std::string& bytes, std::vector<X509*>& out) {
  ERR_clear_error();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
  if (!cert) return makeError("not a PEM or DER certificate: " + lastOpensslError());
  out.push_back(cert);
  return okStatus();
}

}  // namespace

CaCertificates::~CaCertificates() {
  for (X509* cert : certs_) X509_free(cert);
}

Status CaCertificates::add(const std::string& pem_or_der) {
  std::vector<X509*> parsed;
  Status st = pem_or_der.find("-----BEGIN") != std::string::npos ? parsePem(pem_or_der, parsed)
                                                                 : parseDer(pem_or_der, parsed);
  if (!st) return st;
  certs_.insert(certs_.end(), parsed.begin(), parsed.end());
  return okStatus();
}

void CaCertificates::addTo(SSL_CTX* ctx) const {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (X509* cert : certs_) X509_STORE_add_cert(store, cert);  // duplicates are harmless
  ERR_clear_error();
}

}  // namespace kw::net
