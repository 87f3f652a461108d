// Certificates made on the fly with OpenSSL for the crypto capability tests: a root CA, an
// intermediate CA and a leaf, with chosen validity windows and extended key usage.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace kw::host::test {

struct TestCert {
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;

  std::string pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(bio.get(), cert.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, size_t(n));
  }
};

inline void addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// `issuer` null: self-signed. Validity is [now + from_days, now + to_days].
inline TestCert makeCert(const char* cn, const TestCert* issuer, bool ca, long from_days,
                         long to_days, bool code_signing = true) {
  std::shared_ptr<EVP_PKEY> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::shared_ptr<X509> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_days * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert));
  addExt(cert.get(), issuer_cert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) addExt(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (code_signing) addExt(cert.get(), issuer_cert, NID_ext_key_usage, "codeSigning");
  X509_sign(cert.get(), issuer ? issuer->key.get() : key.get(), EVP_sha256());
  return TestCert{cert, key};
}

// The crypto capability's Certificate JSON: {"encoding":"Pem","data":[bytes…]}.
inline std::string certJson(const std::string& pem) {
  std::string out = R"({"encoding":"Pem","data":[)";
  for (size_t i = 0; i < pem.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(static_cast<unsigned char>(pem[i]));
  }
  return out + "]}";
}

}  // namespace kw::host::test
