#include "host/certificate.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/rfc3339.h"

namespace kw::host {
namespace {

using nlohmann::json;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

constexpr char kBadCertificate[] = "Certificate is not a valid DER or PEM encoded certificate";

// {"encoding":"Pem"|"Der","data":[u8…]} → the certificate.
Result<X509Ptr> decode(const json& cert) {
  if (!cert.is_object() || !cert.contains("encoding") || !cert.contains("data") ||
      !cert["data"].is_array()) {
    return makeError("certificate must be an object with `encoding` and `data`");
  }
  std::string bytes;
  for (const auto& b : cert["data"]) {
    if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255) {
      return makeError("certificate `data` must be a sequence of bytes");
    }
    bytes.push_back(char(b.get<int64_t>()));
  }
  const std::string encoding =
      cert["encoding"].is_string() ? cert["encoding"].get<std::string>() : "";
  if (encoding == "Pem") {
    if (bytes.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return makeError("Certificate PEM data is not valid");
    }
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(bytes.data(), int(bytes.size())),
                                                  BIO_free);
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) return makeError(kBadCertificate);
    return x;
  }
  if (encoding == "Der") {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    X509Ptr x(d2i_X509(nullptr, &p, long(bytes.size())));
    if (!x) return makeError(kBadCertificate);
    return x;
  }
  return makeError("unknown variant `" + encoding + "`, expected `Pem` or `Der`");
}

std::optional<int64_t> epochOf(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return int64_t(timegm(&tm));
}

std::string reply(bool trusted, std::string reason) {
  return json{{"trusted", trusted}, {"reason", std::move(reason)}}.dump();
}

// webpki's names for the failures users see most, so messages match upstream's.
std::string untrustedReason(int err) {
  switch (err) {
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "Certificate is not trusted by the provided cert chain";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "Certificate not trusted: UnknownIssuer";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "Certificate not trusted: CertExpired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "Certificate not trusted: CertNotValidYet";
    default:
      return std::string("Certificate not trusted: ") + X509_verify_cert_error_string(err);
  }
}

Result<std::string> verifyChain(X509* leaf, const json& chain, int64_t at) {
  std::vector<X509Ptr> certs;
  for (const auto& c : chain) {
    auto x = decode(c);
    if (!x) return x.error();
    certs.push_back(std::move(*x));
  }
  if (certs.empty()) return makeError("the certificate chain is empty");
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), certs.back().get());  // the last one is the root
  // sk_X509_free is a macro: wrap it for unique_ptr. The stack does not own its members.
  auto free_stack = [](STACK_OF(X509) * s) { sk_X509_free(s); };
  std::unique_ptr<STACK_OF(X509), decltype(free_stack)> untrusted(sk_X509_new_null(), free_stack);
  for (size_t i = 0; i + 1 < certs.size(); ++i) sk_X509_push(untrusted.get(), certs[i].get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get())) {
    return makeError("cannot initialise the certificate verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, time_t(at));
  // The root is trusted because the request says so, whether or not it is self-signed.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx.get()) != 1) {
    return reply(false, untrustedReason(X509_STORE_CTX_get_error(ctx.get())));
  }
  bool code_signing = (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
                      (X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN) != 0;
  if (!code_signing) return reply(false, "Certificate not trusted: RequiredEkuNotFound");
  return reply(true, "");
}

}  // namespace

Result<std::string> isCertificateTrusted(std::string_view payload,
                                         std::chrono::system_clock::time_point now_tp) {
  json req = json::parse(payload, nullptr, false);
  if (!req.is_object() || !req.contains("cert")) {
    return makeError("invalid CertificateVerificationRequest: missing field `cert`");
  }
  auto leaf = decode(req["cert"]);
  if (!leaf) return makeError(kBadCertificate);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(now_tp.time_since_epoch()).count();
  int64_t at = now;
  // An empty not_after means none, as the SDK serialises it.
  if (auto na = req.find("not_after");
      na != req.end() && !na->is_null() && !(na->is_string() && na->get<std::string>().empty())) {
    // Upstream's policy-server reads it with chrono, which is laxer than Go about separators.
    auto t = na->is_string() ? parseRfc3339(na->get<std::string>(), Rfc3339Dialect::kChrono)
                             : Result<Timestamp>(makeError("not a string"));
    if (!t) return makeError("Timestamp not_after is not in RFC3339 format");
    auto cert_not_after = epochOf(X509_get0_notAfter(leaf->get()));
    if (!cert_not_after || *cert_not_after < t->seconds) {
      return reply(false, "Certificate is being used after its expiration date");
    }
    at = t->seconds;
  }
  auto not_before = epochOf(X509_get0_notBefore(leaf->get()));
  if (!not_before || *not_before > now) {
    return reply(false, "Certificate is being used before its validity date");
  }
  auto chain = req.find("cert_chain");
  if (chain == req.end() || chain->is_null()) return reply(true, "");
  if (!chain->is_array()) return makeError("`cert_chain` must be a sequence of certificates");
  return verifyChain(leaf->get(), *chain, at);
}

}  // namespace kw::host
