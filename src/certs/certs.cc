#include "certs/certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "certs/openssl_util.h"

namespace kw::certs {
namespace {

using detail::BioPtr;
using detail::KeyPtr;
using detail::X509Ptr;

// 2048 bits for both keys: upstream's 1024-bit CA key is refused by OpenSSL's default security
// level when it verifies the chain, and 4096-bit serving keys cost seconds on a busy machine.
constexpr int kRsaBits = 2048;
constexpr long kCaValidDays = 3650;
constexpr long kServingValidDays = 365;

Error opensslError(std::string what) {
  return makeError(std::move(what) + ": " + lastOpensslError());
}

Result<KeyPtr> newRsaKey() {
  KeyPtr key(EVP_RSA_gen(kRsaBits));
  if (!key) return opensslError("cannot generate an RSA key");
  return key;
}

// 159 random bits, positive: the same range upstream draws serial numbers from.
bool setRandomSerial(X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_new(), BN_free);
  if (!bn || !BN_rand(bn.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) return false;
  return BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Version 3, random serial, validity from now, subject CN (empty CN: no subject entries).
Result<X509Ptr> newCertificate(EVP_PKEY* key, const std::string& common_name, long days) {
  X509Ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3) || !setRandomSerial(cert.get()) ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600) ||
      !X509_set_pubkey(cert.get(), key))
    return opensslError("cannot prepare a certificate");
  if (!common_name.empty()) {
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                    -1, 0))
      return opensslError("cannot set the subject " + common_name);
  }
  return cert;
}

Result<std::string> keyToPkcs1Der(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int len = i2d_PrivateKey(key, &out);
  if (len <= 0) return opensslError("cannot encode the private key");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

Result<std::string> keyToPkcs1Pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      !PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
    return opensslError("cannot encode the private key as PEM");
  return detail::bioText(bio.get());
}

Result<std::string> certToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), cert))
    return opensslError("cannot encode the certificate as PEM");
  return detail::bioText(bio.get());
}

Result<std::string> certToDer(X509* cert) {
  unsigned char* out = nullptr;
  int len = i2d_X509(cert, &out);
  if (len <= 0) return opensslError("cannot encode the certificate as DER");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

// "x.y.z.w" or an IPv6 literal: the check the SAN needs before OpenSSL sees it.
bool isIpLiteral(const std::string& text) {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(text.c_str());
  if (!ip) return false;
  ASN1_OCTET_STRING_free(ip);
  return true;
}

Result<std::string> sanList(const std::vector<std::string>& dns,
                            const std::vector<std::string>& ips) {
  std::string list;
  for (const auto& name : dns) {
    if (name.empty() || name.find_first_of(", ") != std::string::npos)
      return makeError("invalid DNS name for a certificate: \"" + name + "\"");
    list += (list.empty() ? "" : ",") + std::string("DNS:") + name;
  }
  for (const auto& ip : ips) {
    if (!isIpLiteral(ip)) return makeError("not an IP address: \"" + ip + "\"");
    list += (list.empty() ? "" : ",") + std::string("IP:") + ip;
  }
  return list;
}

}  // namespace

Result<CertificateAuthority> makeRootCa() {
  auto key = newRsaKey();
  if (!key) return key.error();
  // Upstream's CA subject is empty; a CN makes the CA recognisable in `openssl x509 -text`.
  auto cert = newCertificate(key->get(), "kubewarden-policy-server-root-ca", kCaValidDays);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (!X509_set_issuer_name(c, X509_get_subject_name(c)) ||
      !addExtension(c, c, NID_basic_constraints, "critical,CA:TRUE") ||
      !addExtension(c, c, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !addExtension(c, c, NID_ext_key_usage, "serverAuth,clientAuth") ||
      !addExtension(c, c, NID_subject_key_identifier, "hash") ||
      !X509_sign(c, key->get(), EVP_sha256()))
    return opensslError("cannot sign the root CA");
  auto der = certToDer(c);
  auto pem = certToPem(c);
  auto key_der = keyToPkcs1Der(key->get());
  if (!der) return der.error();
  if (!pem) return pem.error();
  if (!key_der) return key_der.error();
  return CertificateAuthority{*der, *pem, *key_der};
}

Result<CertificateAuthority> loadCa(std::string_view cert, std::string_view key) {
  auto x509 = detail::parseCert(cert);
  if (!x509) return makeError("root CA certificate: " + x509.error().message);
  auto pkey = detail::parsePrivateKey(key);
  if (!pkey) return makeError("root CA private key: " + pkey.error().message);
  if (X509_check_private_key(x509->get(), pkey->get()) != 1)
    return makeError("root CA private key does not belong to its certificate");
  auto der = certToDer(x509->get());
  auto pem = certToPem(x509->get());
  auto key_der = keyToPkcs1Der(pkey->get());
  if (!der) return der.error();
  if (!pem) return pem.error();
  if (!key_der) return key_der.error();
  return CertificateAuthority{*der, *pem, *key_der};
}

Result<ServingCert> issueServingCert(const CertificateAuthority& ca,
                                     const std::vector<std::string>& dns_sans,
                                     const std::vector<std::string>& ip_sans) {
  if (dns_sans.empty() && ip_sans.empty())
    return makeError("a serving certificate needs at least one DNS name or IP address");
  auto sans = sanList(dns_sans, ip_sans);
  if (!sans) return sans.error();
  auto ca_cert = detail::parseCert(ca.cert_der);
  if (!ca_cert) return makeError("root CA certificate: " + ca_cert.error().message);
  auto ca_key = detail::parsePrivateKey(ca.key_der);
  if (!ca_key) return makeError("root CA private key: " + ca_key.error().message);

  auto key = newRsaKey();
  if (!key) return key.error();
  const std::string& name = dns_sans.empty() ? ip_sans.front() : dns_sans.front();
  // X.509 caps a CN at 64 characters (RFC 5280 ub-common-name) and OpenSSL refuses a longer
  // one; clients match the SANs anyway, so a long Service name goes without a CN.
  constexpr size_t kMaxCommonName = 64;
  std::string cn = name.size() <= kMaxCommonName ? name : "";
  auto cert = newCertificate(key->get(), cn, kServingValidDays);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (!X509_set_issuer_name(c, X509_get_subject_name(ca_cert->get())) ||
      !addExtension(c, ca_cert->get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(c, ca_cert->get(), NID_key_usage,
                    "critical,digitalSignature,keyEncipherment") ||
      !addExtension(c, ca_cert->get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
      !addExtension(c, ca_cert->get(), NID_subject_alt_name, *sans) ||
      !addExtension(c, ca_cert->get(), NID_authority_key_identifier, "keyid:always") ||
      !X509_sign(c, ca_key->get(), EVP_sha256()))
    return opensslError("cannot sign the serving certificate for " + name);
  auto pem = certToPem(c);
  auto key_pem = keyToPkcs1Pem(key->get());
  if (!pem) return pem.error();
  if (!key_pem) return key_pem.error();
  return ServingCert{*pem, *key_pem};
}

Result<std::string> certPemToDer(std::string_view pem) {
  auto cert = detail::parseCert(pem);
  if (!cert) return cert.error();
  return certToDer(cert->get());
}

Result<std::string> certDerToPem(std::string_view der) {
  auto cert = detail::parseCert(der);
  if (!cert) return cert.error();
  return certToPem(cert->get());
}

}  // namespace kw::certs
