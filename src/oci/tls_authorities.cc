#include "oci/tls_authorities.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <iterator>

#include "common/file_read.h"

namespace kw::oci {
namespace {

std::string opensslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no certificate found";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Status parsePem(const std::string& text, std::vector<X509*>& out) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  size_t before = out.size();
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.push_back(cert);
  BIO_free(bio);
  ERR_clear_error();  // the loop always ends on a "no start line" error
  if (out.size() == before) return makeError("no PEM certificate found");
  return okStatus();
}

Status parseDer(const std::string& bytes, std::vector<X509*>& out) {
  ERR_clear_error();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
  if (!cert) return makeError("not a PEM or DER certificate: " + opensslError());
  out.push_back(cert);
  return okStatus();
}

Status load(const SourceAuthority& authority, std::vector<X509*>& out) {
  if (authority.type == SourceAuthority::Type::Data) return parsePem(authority.data, out);
  auto read = readFileBounded(authority.path);
  if (!read) return read.error();
  const std::string& bytes = *read;
  if (bytes.find("-----BEGIN") != std::string::npos) return parsePem(bytes, out);
  return parseDer(bytes, out);
}

}  // namespace

TlsAuthorities::TlsAuthorities(const Sources& sources) {
  for (const auto& [host, authorities] : sources.source_authorities) {
    auto& certs = certs_[host];
    for (const auto& authority : authorities) {
      Status st = load(authority, certs);
      if (!st) {
        std::string what = authority.type == SourceAuthority::Type::Path
                               ? authority.path
                               : std::string("inline data");
        errors_[host] = fmt::format("cannot load the certificate authority ({}) for {}: {}", what,
                                    host, st.error().message);
      }
    }
  }
}

TlsAuthorities::~TlsAuthorities() {
  for (auto& [host, certs] : certs_) {
    for (X509* c : certs) X509_free(c);
  }
}

bool TlsAuthorities::has(const std::string& host) const {
  return certs_.count(host) > 0;
}

Status TlsAuthorities::status(const std::string& host) const {
  auto it = errors_.find(host);
  if (it != errors_.end()) return makeError(it->second);
  return okStatus();
}

void TlsAuthorities::addTo(SSL_CTX* ctx, const std::string& host) const {
  auto it = certs_.find(host);
  if (it == certs_.end()) return;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (X509* cert : it->second) X509_STORE_add_cert(store, cert);  // duplicates are harmless
  ERR_clear_error();
}

}  // namespace kw::oci
