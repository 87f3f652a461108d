// Test-side signing, written independently of src/sigstore: ECDSA P-256 keys, a fake Fulcio
// CA with leaf certificates carrying the SAN and OIDC-issuer extensions, cosign simple-signing
// payloads and the signature layers cosign stores. Header-only because tests/CMakeLists.txt
// compiles only *_test.cc files from this folder.
#pragma once

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace kw::test::cosign {

using Key = std::shared_ptr<EVP_PKEY>;
using Certificate = std::shared_ptr<X509>;

inline Key newEcKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) throw std::runtime_error("EVP_EC_gen failed");
  return Key(k, EVP_PKEY_free);
}

inline std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline std::string publicKeyPem(const Key& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.get());
  return bioText(bio);
}

inline std::string certPem(const Certificate& cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert.get());
  return bioText(bio);
}

inline std::string certDer(const Certificate& cert) {
  unsigned char* buf = nullptr;
  int n = i2d_X509(cert.get(), &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

// DER ECDSA signature over SHA-256(message), as cosign produces.
inline std::string sign(const Key& key, const std::string& message) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()),
                 message.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

inline std::string b64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

struct CertSpec {
  std::string common_name = "test";
  bool ca = false;
  std::optional<std::string> email = std::nullopt;
  std::optional<std::string> uri = std::nullopt;
  std::optional<std::string> oidc_issuer = std::nullopt;     // raw text in …57264.1.1
  std::optional<std::string> oidc_issuer_v2 = std::nullopt;  // DER UTF8String in …57264.1.8
  long not_before_offset = -3600;                            // seconds from now
  long not_after_offset = 3600 * 24;
  bool code_signing = true;
};

inline void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

inline void addRawExt(X509* cert, const char* oid, const std::string& bytes) {
  ASN1_OBJECT* obj = OBJ_txt2obj(oid, 1);
  ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(data, reinterpret_cast<const unsigned char*>(bytes.data()),
                        static_cast<int>(bytes.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(data);
  ASN1_OBJECT_free(obj);
}

inline std::string derUtf8(const std::string& text) {
  ASN1_UTF8STRING* s = ASN1_UTF8STRING_new();
  ASN1_STRING_set(s, text.data(), static_cast<int>(text.size()));
  unsigned char* buf = nullptr;
  int n = i2d_ASN1_UTF8STRING(s, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  ASN1_UTF8STRING_free(s);
  return out;
}

// Issues a certificate for `subject_key`, signed by `issuer_key` under `issuer` (self-signed
// when `issuer` is null).
inline Certificate issue(const CertSpec& spec, const Key& subject_key, const Certificate& issuer,
                         const Key& issuer_key) {
  static long serial = 1;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_offset);
  X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_offset);
  X509_set_pubkey(cert, subject_key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509* issuer_cert = issuer ? issuer.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  if (spec.ca) {
    addExt(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    addExt(cert, issuer_cert, NID_subject_key_identifier, "hash");
  } else {
    addExt(cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
    if (spec.code_signing) addExt(cert, issuer_cert, NID_ext_key_usage, "codeSigning");
  }
  if (spec.email) addExt(cert, issuer_cert, NID_subject_alt_name, "email:" + *spec.email);
  if (spec.uri) addExt(cert, issuer_cert, NID_subject_alt_name, "URI:" + *spec.uri);
  if (spec.oidc_issuer) addRawExt(cert, "1.3.6.1.4.1.57264.1.1", *spec.oidc_issuer);
  if (spec.oidc_issuer_v2) addRawExt(cert, "1.3.6.1.4.1.57264.1.8", derUtf8(*spec.oidc_issuer_v2));
  X509_sign(cert, (issuer_key ? issuer_key : subject_key).get(), EVP_sha256());
  return Certificate(cert, X509_free);
}

inline std::string simpleSigningPayload(
    const std::string& docker_reference, const std::string& digest,
    const std::map<std::string, std::string>& annotations = {}) {
  nlohmann::json optional = nullptr;
  if (!annotations.empty()) optional = annotations;
  nlohmann::json doc = {{"critical",
                         {{"identity", {{"docker-reference", docker_reference}}},
                          {"image", {{"docker-manifest-digest", digest}}},
                          {"type", "cosign container image signature"}}},
                        {"optional", optional}};
  return doc.dump();
}

inline std::string sha256Hex(const std::string& bytes) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// The hashedrekord entry Rekor logs for a cosign signature: the payload's hash, the signature
// and the signer's certificate or public key (PEM), base64 where Rekor has them so.
inline std::string hashedRekordBody(const std::string& payload, const std::string& signature,
                                    const std::string& signer_pem) {
  nlohmann::json entry = {
      {"apiVersion", "0.0.1"},
      {"kind", "hashedrekord"},
      {"spec",
       {{"data", {{"hash", {{"algorithm", "sha256"}, {"value", sha256Hex(payload)}}}}},
        {"signature",
         {{"content", b64(signature)}, {"publicKey", {{"content", b64(signer_pem)}}}}}}}};
  return entry.dump();
}

// A Rekor bundle annotation for the entry `body_json`, its SignedEntryTimestamp signed by
// `rekor_key`.
inline std::string rekorBundle(const Key& rekor_key, long integrated_time,
                               const std::string& body_json) {
  nlohmann::json payload = {
      {"body", b64(body_json)},
      {"integratedTime", integrated_time},
      {"logIndex", 42},
      {"logID", "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"}};
  nlohmann::json bundle = {{"SignedEntryTimestamp", b64(sign(rekor_key, payload.dump()))},
                           {"Payload", payload}};
  return bundle.dump();
}

}  // namespace kw::test::cosign
