#include "certs/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

namespace kw::certs::detail {
namespace {

bool looksLikePem(std::string_view text) {
  return text.find("-----BEGIN ") != std::string_view::npos;
}

BioPtr readBio(std::string_view bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

}  // namespace

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<X509Ptr> parseCert(std::string_view pem_or_der) {
  if (pem_or_der.empty()) return makeError("empty certificate");
  X509Ptr cert;
  if (looksLikePem(pem_or_der)) {
    BioPtr bio = readBio(pem_or_der);
    cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  } else {
    auto* p = reinterpret_cast<const unsigned char*>(pem_or_der.data());
    cert.reset(d2i_X509(nullptr, &p, static_cast<long>(pem_or_der.size())));
  }
  if (!cert) return makeError("not a PEM or DER X.509 certificate (" + lastOpensslError() + ")");
  return cert;
}

Result<KeyPtr> parsePrivateKey(std::string_view pem_or_der) {
  if (pem_or_der.empty()) return makeError("empty private key");
  KeyPtr key;
  if (looksLikePem(pem_or_der)) {
    BioPtr bio = readBio(pem_or_der);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  } else {
    // d2i_AutoPrivateKey takes PKCS#8 as well as the type-specific PKCS#1 form.
    auto* p = reinterpret_cast<const unsigned char*>(pem_or_der.data());
    key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pem_or_der.size())));
  }
  if (!key) return makeError("not a PEM or DER private key (" + lastOpensslError() + ")");
  return key;
}

}  // namespace kw::certs::detail
