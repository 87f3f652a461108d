#include "sigstore/crypto.h"

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>

namespace kw::sigstore {
namespace {

// OpenSSL leaves error entries behind on expected failures (a PEM loop reaching the end, a bad
// signature); they must not leak into the next, unrelated OpenSSL call on this thread.
std::string takeOpenSslError() {
  unsigned long code = ERR_get_error();
  std::string text = "unknown error";
  if (code != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    text = buf.data();
  }
  ERR_clear_error();
  return text;
}

std::string asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// The value of a Fulcio extension. `der_string` says it wraps a DER UTF8String (1.8 and
// later); the legacy 1.1 issuer extension holds the raw text.
std::optional<std::string> extensionText(X509* cert, const char* oid, bool der_string) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  if (obj == nullptr) return std::nullopt;
  int idx = X509_get_ext_by_OBJ(cert, obj, -1);
  ASN1_OBJECT_free(obj);
  if (idx < 0) return std::nullopt;
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  if (data == nullptr) return std::nullopt;
  if (der_string) {
    const unsigned char* p = ASN1_STRING_get0_data(data);
    ASN1_UTF8STRING* str = d2i_ASN1_UTF8STRING(nullptr, &p, ASN1_STRING_length(data));
    if (str != nullptr) {
      std::string text = asn1Text(str);
      ASN1_UTF8STRING_free(str);
      return text;
    }
    ERR_clear_error();
  }
  return asn1Text(data);
}

}  // namespace

Result<Pkey> parsePublicKeyPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    return makeError("cannot parse the PEM public key: " + takeOpenSslError());
  }
  return Pkey(key, PkeyFree{});
}

bool verifySignature(EVP_PKEY* key, std::string_view message, std::string_view signature) {
  if (key == nullptr || signature.empty()) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

Result<std::vector<Cert>> parseCertificates(std::string_view bytes) {
  std::vector<Cert> certs;
  if (bytes.find("-----BEGIN") != std::string_view::npos) {
    BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
    while (X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      certs.emplace_back(c, X509Free{});
    }
    BIO_free(bio);
    ERR_clear_error();
  } else if (!bytes.empty()) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
    X509* c = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
    if (c == nullptr) return makeError("cannot parse the certificate: " + takeOpenSslError());
    certs.emplace_back(c, X509Free{});
  }
  if (certs.empty()) return makeError("cannot parse the certificate: no certificate found");
  return certs;
}

Status verifyChain(X509* leaf, const std::vector<Cert>& intermediates,
                   const std::vector<Cert>& anchors, std::optional<int64_t> at_time) {
  if (anchors.empty()) return makeError("no trusted root certificate is configured");
  X509_STORE* store = X509_STORE_new();
  for (const auto& a : anchors) X509_STORE_add_cert(store, a.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const auto& c : intermediates) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, untrusted);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  // A configured intermediate is trusted as given, as sigstore's certificate pool does.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (at_time) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*at_time));
  int ok = X509_verify_cert(ctx);
  std::string reason = ok == 1 ? "" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  ERR_clear_error();
  if (ok != 1) return makeError("certificate chain verification failed: " + reason);
  return okStatus();
}

bool validAt(X509* leaf, std::optional<int64_t> at_time) {
  time_t t = at_time ? static_cast<time_t>(*at_time) : std::time(nullptr);
  return X509_cmp_time(X509_get0_notBefore(leaf), &t) == -1 &&
         X509_cmp_time(X509_get0_notAfter(leaf), &t) == 1;
}

Result<CertIdentity> certIdentity(X509* cert) {
  CertIdentity id;
  id.issuer = extensionText(cert, "1.3.6.1.4.1.57264.1.8", true);
  if (!id.issuer) id.issuer = extensionText(cert, "1.3.6.1.4.1.57264.1.1", false);
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::optional<std::string> email, uri;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_EMAIL && !email) email = asn1Text(n->d.rfc822Name);
    if (n->type == GEN_URI && !uri) uri = asn1Text(n->d.uniformResourceIdentifier);
  }
  GENERAL_NAMES_free(names);
  if (email) {
    id.subject = *email;
    id.subject_is_email = true;
  } else if (uri) {
    id.subject = *uri;
  } else {
    return makeError("the certificate has no email or URI subject alternative name");
  }
  return id;
}

Status checkCodeSigningUsage(X509* cert) {
  uint32_t ku = X509_get_key_usage(cert);
  if (ku == UINT32_MAX || (ku & KU_DIGITAL_SIGNATURE) == 0) {
    return makeError("the certificate lacks the digitalSignature key usage");
  }
  uint32_t xku = X509_get_extended_key_usage(cert);
  if (xku == UINT32_MAX || (xku & XKU_CODE_SIGN) == 0) {
    return makeError("the certificate lacks the codeSigning extended key usage");
  }
  return okStatus();
}

Pkey certPublicKey(X509* cert) {
  EVP_PKEY* key = X509_get_pubkey(cert);
  return key == nullptr ? Pkey() : Pkey(key, PkeyFree{});
}

}  // namespace kw::sigstore
