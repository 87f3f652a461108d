#include "sigstore/signature_layer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <initializer_list>
#include <optional>
#include <span>

#include "common/base64.h"
#include "common/sha256.h"

namespace kw::sigstore {
namespace {

std::string blobDigest(const std::string& blob) {
  return "sha256:" + sha256Hex(std::span<const uint8_t>(
                         reinterpret_cast<const uint8_t*>(blob.data()), blob.size()));
}

const std::string* annotation(const RawLayer& layer, const char* key) {
  auto it = layer.annotations.find(key);
  return it == layer.annotations.end() ? nullptr : &it->second;
}

// The payload must name the image being verified and be a cosign image signature.
Status checkPayload(const nlohmann::json& payload, const std::string& image_digest) {
  if (!payload.is_object() || !payload.contains("critical")) {
    return makeError("the payload is not a simple-signing document");
  }
  const auto& critical = payload["critical"];
  std::string digest, type;
  if (critical.is_object()) {
    auto image = critical.find("image");
    if (image != critical.end() && image->is_object()) {
      auto d = image->find("docker-manifest-digest");
      if (d != image->end() && d->is_string()) digest = d->get<std::string>();
    }
    auto t = critical.find("type");
    if (t != critical.end() && t->is_string()) type = t->get<std::string>();
  }
  if (digest != image_digest) {
    return makeError(fmt::format("the payload signs {}, not {}", digest, image_digest));
  }
  if (type != kCosignSignatureType) {
    return makeError("the payload type is not \"cosign container image signature\"");
  }
  return okStatus();
}

// The string at `path` inside `j`, if every step exists.
std::optional<std::string> stringAt(const nlohmann::json& j,
                                    std::initializer_list<const char*> path) {
  const nlohmann::json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return std::nullopt;
    auto it = at->find(key);
    if (it == at->end()) return std::nullopt;
    at = &*it;
  }
  if (!at->is_string()) return std::nullopt;
  return at->get<std::string>();
}

std::optional<std::string> decodedAt(const nlohmann::json& j,
                                     std::initializer_list<const char*> path) {
  auto text = stringAt(j, path);
  if (!text) return std::nullopt;
  auto bytes = base64Decode(*text);
  if (!bytes.ok()) return std::nullopt;
  return std::move(*bytes);
}

bool sameCertificate(std::string_view a, std::string_view b) {
  auto x = parseCertificates(a);
  auto y = parseCertificates(b);
  return x.ok() && y.ok() && X509_cmp(x->front().get(), y->front().get()) == 0;
}

// The logged public key: a PEM key, or the key of a PEM certificate.
Pkey loggedKey(std::string_view pem) {
  if (auto key = parsePublicKeyPem(pem); key.ok()) return *key;
  if (auto certs = parseCertificates(pem); certs.ok()) return certPublicKey(certs->front().get());
  return nullptr;
}

// A bundle's SignedEntryTimestamp vouches for whatever entry it names, so the entry itself must
// be this layer's; otherwise any genuine bundle copied onto a layer would lend it a log time.
Status checkLoggedEntry(const std::string& body_b64, const LoggedArtifact& artifact) {
  auto body = base64Decode(body_b64);
  if (!body.ok()) return makeError("the Rekor entry body is not base64");
  auto entry = nlohmann::json::parse(*body, nullptr, false);
  auto kind = stringAt(entry, {"kind"});
  if (!kind || (*kind != "hashedrekord" && *kind != "rekord")) {
    return makeError(fmt::format("the Rekor entry is of kind {}, not hashedrekord or rekord",
                                 kind ? *kind : "(none)"));
  }
  std::string payload_hash = sha256Hex(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(artifact.payload.data()), artifact.payload.size()));
  auto algorithm = stringAt(entry, {"spec", "data", "hash", "algorithm"});
  auto value = stringAt(entry, {"spec", "data", "hash", "value"});
  auto content = decodedAt(entry, {"spec", "data", "content"});  // older rekord entries
  bool payload_logged = (algorithm == "sha256" && value == payload_hash) ||
                        (!value && content && *content == artifact.payload);
  if (!payload_logged) return makeError("the Rekor entry logs another payload");
  if (decodedAt(entry, {"spec", "signature", "content"}) != std::string(artifact.signature)) {
    return makeError("the Rekor entry logs another signature");
  }
  auto logged_key = decodedAt(entry, {"spec", "signature", "publicKey", "content"});
  if (!logged_key) return makeError("the Rekor entry logs no public key");
  if (artifact.certificate_pem != nullptr) {
    if (!sameCertificate(*logged_key, *artifact.certificate_pem)) {
      return makeError("the Rekor entry logs another certificate");
    }
    return okStatus();
  }
  Pkey key = loggedKey(*logged_key);
  if (!key || !verifySignature(key.get(), artifact.payload, artifact.signature)) {
    return makeError("the Rekor entry logs a key that did not make this signature");
  }
  return okStatus();
}

// Fills `layer.identity` when the certificate annotation is a Fulcio certificate whose key
// signed this payload. Failures only leave the identity empty, as in sigstore-rs.
void attachIdentity(const RawLayer& raw, const ParsedTrust& trust, SignatureLayer& layer) {
  const std::string* cert_pem = annotation(raw, kCertificateAnnotation);
  if (cert_pem == nullptr) return;
  auto fail = [&](const std::string& why) {
    spdlog::debug("sigstore: ignoring the certificate of layer {}: {}", raw.digest, why);
  };
  if (trust.fulcio.empty()) return fail("no Fulcio root certificate is configured");
  auto certs = parseCertificates(*cert_pem);
  if (!certs.ok()) return fail(certs.error().message);
  X509* leaf = certs->front().get();
  std::vector<Cert> chain;
  if (const std::string* chain_pem = annotation(raw, kChainAnnotation)) {
    auto parsed = parseCertificates(*chain_pem);
    if (parsed.ok()) chain = std::move(*parsed);
  }
  // Fulcio certificates live for minutes: only the time the log recorded says whether the
  // signature was made while the certificate was valid. Without it the identity is not proven.
  if (!layer.integrated_time) {
    return fail("no verified Rekor bundle: a keyless signature needs transparency-log proof");
  }
  if (auto st = verifyChain(leaf, chain, trust.fulcio, layer.integrated_time); !st.ok()) {
    return fail(st.error().message);
  }
  if (auto st = checkCodeSigningUsage(leaf); !st.ok()) return fail(st.error().message);
  Pkey key = certPublicKey(leaf);
  if (!verifySignature(key.get(), layer.payload, layer.signature)) {
    return fail("the signature does not verify with the certificate's key");
  }
  auto id = certIdentity(leaf);
  if (!id.ok()) return fail(id.error().message);
  layer.identity = std::move(*id);
}

Result<SignatureLayer> buildLayer(const RawLayer& raw, const std::string& image_digest,
                                  const ParsedTrust& trust) {
  if (raw.media_type != kSimpleSigningMediaType) {
    return makeError(fmt::format("unexpected media type {}", raw.media_type));
  }
  if (blobDigest(raw.blob) != raw.digest) return makeError("the blob does not match its digest");
  nlohmann::json payload = nlohmann::json::parse(raw.blob, nullptr, false);
  if (auto st = checkPayload(payload, image_digest); !st.ok()) return st.error();
  const std::string* sig_b64 = annotation(raw, kSignatureAnnotation);
  if (sig_b64 == nullptr) return makeError("no signature annotation");
  auto sig = base64Decode(*sig_b64);
  if (!sig.ok()) return makeError("signature annotation: " + sig.error().message);

  SignatureLayer layer;
  layer.payload = raw.blob;
  layer.signature = std::move(*sig);
  if (payload.contains("optional")) layer.optional = payload["optional"];
  // Without a Rekor key a bundle cannot be trusted, so it is ignored (as upstream does).
  const std::string* bundle = annotation(raw, kBundleAnnotation);
  if (bundle != nullptr && trust.rekor) {
    auto time = verifyRekorBundle(
        *bundle, trust.rekor.get(),
        LoggedArtifact{layer.payload, layer.signature, annotation(raw, kCertificateAnnotation)});
    if (!time.ok()) return time.error();
    layer.integrated_time = *time;
  }
  attachIdentity(raw, trust, layer);
  return layer;
}

}  // namespace

Result<ParsedTrust> parseTrustRoot(const TrustRoot& root) {
  ParsedTrust trust;
  for (const auto& pem : root.fulcio_certs_pem) {
    auto certs = parseCertificates(pem);
    if (!certs.ok()) return makeError("Fulcio certificate: " + certs.error().message);
    trust.fulcio.insert(trust.fulcio.end(), certs->begin(), certs->end());
  }
  if (!root.rekor_public_key_pem.empty()) {
    auto key = parsePublicKeyPem(root.rekor_public_key_pem);
    if (!key.ok()) return makeError("Rekor public key: " + key.error().message);
    trust.rekor = *key;
  }
  return trust;
}

std::vector<SignatureLayer> buildSignatureLayers(const std::vector<RawLayer>& raw,
                                                 const std::string& image_digest,
                                                 const ParsedTrust& trust) {
  std::vector<SignatureLayer> layers;
  for (const auto& r : raw) {
    auto layer = buildLayer(r, image_digest, trust);
    if (layer.ok()) {
      layers.push_back(std::move(*layer));
    } else {
      spdlog::info("sigstore: skipping signature layer {}: {}", r.digest, layer.error().message);
    }
  }
  return layers;
}

Result<int64_t> verifyRekorBundle(const std::string& bundle_json, EVP_PKEY* rekor_key,
                                  const LoggedArtifact& artifact) {
  auto bundle = nlohmann::json::parse(bundle_json, nullptr, false);
  if (!bundle.is_object() || !bundle.contains("Payload") ||
      !bundle.contains("SignedEntryTimestamp")) {
    return makeError("the Rekor bundle is malformed");
  }
  const auto& p = bundle["Payload"];
  if (!p.is_object() || !p.contains("integratedTime") || !p["integratedTime"].is_number_integer() ||
      !bundle["SignedEntryTimestamp"].is_string()) {
    return makeError("the Rekor bundle is malformed");
  }
  // Rekor signs the RFC 8785 form of these four fields; nlohmann sorts keys and adds no
  // whitespace, which is that form for strings and integers.
  nlohmann::json canonical = {{"body", p.value("body", nlohmann::json())},
                              {"integratedTime", p["integratedTime"]},
                              {"logIndex", p.value("logIndex", nlohmann::json())},
                              {"logID", p.value("logID", nlohmann::json())}};
  auto set = base64Decode(bundle["SignedEntryTimestamp"].get<std::string>());
  if (!set.ok()) return makeError("the Rekor bundle timestamp: " + set.error().message);
  if (!verifySignature(rekor_key, canonical.dump(), *set)) {
    return makeError("the Rekor bundle signature does not verify with the Rekor public key");
  }
  if (!p.contains("body") || !p["body"].is_string())
    return makeError("the Rekor bundle has no body");
  if (auto st = checkLoggedEntry(p["body"].get<std::string>(), artifact); !st.ok()) {
    return st.error();
  }
  return p["integratedTime"].get<int64_t>();
}

}  // namespace kw::sigstore
