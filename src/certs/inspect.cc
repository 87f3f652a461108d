// Reading certificates back: what they claim (inspect) and whether a stored serving certificate
// still fits its CA and name (servingCertFits).
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "certs/certs.h"
#include "certs/openssl_util.h"

namespace kw::certs {
namespace {

std::chrono::system_clock::time_point asTimePoint(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string ipText(const ASN1_OCTET_STRING* ip) {
  const unsigned char* b = ASN1_STRING_get0_data(ip);
  int n = ASN1_STRING_length(ip);
  char buf[64] = {};
  if (n == 4) {
    snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
  }
  // IPv6: full form without zero compression, enough for comparisons in tests.
  std::string text;
  for (int i = 0; i + 1 < n; i += 2) {
    snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (b[i] << 8) | b[i + 1]);
    text += buf;
  }
  return text;
}

void readSans(X509* cert, CertInfo& info) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                 static_cast<size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      info.ip_sans.push_back(ipText(name->d.iPAddress));
    }
  }
  GENERAL_NAMES_free(names);
}

std::string commonName(X509* cert) {
  char buf[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

Result<CertInfo> inspect(std::string_view cert_pem_or_der) {
  auto cert = detail::parseCert(cert_pem_or_der);
  if (!cert) return cert.error();
  CertInfo info;
  info.subject_cn = commonName(cert->get());
  info.is_ca = X509_check_ca(cert->get()) != 0;
  info.not_before = asTimePoint(X509_get0_notBefore(cert->get()));
  info.not_after = asTimePoint(X509_get0_notAfter(cert->get()));
  readSans(cert->get(), info);
  return info;
}

Status servingCertFits(const CertificateAuthority& ca, std::string_view cert_pem,
                       std::string_view dns_name) {
  auto cert = detail::parseCert(cert_pem);
  if (!cert) return makeError("serving certificate: " + cert.error().message);
  auto root = detail::parseCert(ca.cert_der);
  if (!root) return makeError("root CA certificate: " + root.error().message);

  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  if (!store || !ctx || !X509_STORE_add_cert(store.get(), root->get()) ||
      !X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr))
    return makeError("cannot set up certificate verification: " + lastOpensslError());
  // The host name check rides along with the chain check, like a TLS client would do it.
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set1_host(param, dns_name.data(), dns_name.size());
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return makeError("serving certificate does not verify for " + std::string(dns_name) + ": " +
                     X509_verify_cert_error_string(err));
  }
  return okStatus();
}

}  // namespace kw::certs
