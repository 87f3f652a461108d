#include "sigstore/verification_input.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace kw::sigstore {
namespace {

using json = nlohmann::json;

// Errors read like serde's, since that is what upstream users see.
Result<std::string> requireString(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return makeError(fmt::format("missing field `{}`", field));
  if (!it->is_string()) return makeError(fmt::format("field `{}`: expected a string", field));
  return it->get<std::string>();
}

Result<std::optional<std::string>> optionalString(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return makeError(fmt::format("field `{}`: expected a string", field));
  return std::optional<std::string>(it->get<std::string>());
}

Result<const json*> requireArray(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return makeError(fmt::format("missing field `{}`", field));
  if (!it->is_array()) return makeError(fmt::format("field `{}`: expected an array", field));
  return &*it;
}

// The SDKs send a map; the documentation shows a list of {key, value}: accept both.
Result<std::optional<Annotations>> parseAnnotations(const json& obj) {
  auto it = obj.find("annotations");
  if (it == obj.end() || it->is_null()) return std::optional<Annotations>();
  Annotations out;
  if (it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return makeError(fmt::format("annotation `{}`: expected a string", k));
      out[k] = v.get<std::string>();
    }
  } else if (it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_object() || !e.contains("key") || !e.contains("value") || !e["key"].is_string() ||
          !e["value"].is_string()) {
        return makeError("field `annotations`: expected {\"key\": string, \"value\": string}");
      }
      out[e["key"].get<std::string>()] = e["value"].get<std::string>();
    }
  } else {
    return makeError("field `annotations`: expected a map of strings");
  }
  return std::optional<Annotations>(std::move(out));
}

// Bytes sent as a JSON array of numbers (Rust's Vec<u8>).
Result<std::string> byteArray(const json& value, const char* field) {
  if (!value.is_array())
    return makeError(fmt::format("field `{}`: expected an array of bytes", field));
  std::string out;
  for (const auto& b : value) {
    if (!b.is_number_unsigned() || b.get<uint64_t>() > 255) {
      return makeError(fmt::format("field `{}`: expected an array of bytes", field));
    }
    out.push_back(static_cast<char>(b.get<uint64_t>()));
  }
  return out;
}

Result<VerificationRequest> pubKeys(const json& body, VerificationRequest req,
                                    const std::optional<Annotations>& annotations) {
  auto keys = requireArray(body, "pub_keys");
  if (!keys.ok()) return keys.error();
  for (const auto& k : **keys) {
    if (!k.is_string()) return makeError("field `pub_keys`: expected an array of strings");
    req.all_of.push_back({PubKeyConstraint{k.get<std::string>(), std::nullopt}, annotations});
  }
  if (req.all_of.empty()) return makeError("Must provide at least one pub key");
  return req;
}

// `keyless` entries carry {issuer, subject}; `keyless_prefix` entries {issuer, url_prefix}.
Result<VerificationRequest> keyless(const json& body, VerificationRequest req,
                                    const std::optional<Annotations>& annotations, bool prefix) {
  const char* field = prefix ? "keyless_prefix" : "keyless";
  auto list = requireArray(body, field);
  if (!list.ok()) return list.error();
  for (const auto& e : **list) {
    if (!e.is_object()) return makeError(fmt::format("field `{}`: expected objects", field));
    auto issuer = requireString(e, "issuer");
    if (!issuer.ok()) return issuer.error();
    auto subject = requireString(e, prefix ? "url_prefix" : "subject");
    if (!subject.ok()) return subject.error();
    if (prefix && subject->find("://") == std::string::npos) {
      return makeError(fmt::format("invalid url_prefix `{}`: not a URL", *subject));
    }
    req.all_of.push_back({IssuerConstraint{*issuer, *subject, prefix}, annotations});
  }
  if (req.all_of.empty()) return makeError("Must provide keyless info");
  return req;
}

Result<VerificationRequest> github(const json& body, VerificationRequest req,
                                   const std::optional<Annotations>& annotations) {
  auto owner = requireString(body, "owner");
  if (!owner.ok()) return owner.error();
  auto repo = optionalString(body, "repo");
  if (!repo.ok()) return repo.error();
  if (owner->empty()) return makeError("Must provide owner info");
  req.all_of.push_back({GithubConstraint{*owner, *repo}, annotations});
  return req;
}

Result<VerificationRequest> certificate(const json& body, VerificationRequest req,
                                        const std::optional<Annotations>& annotations) {
  auto it = body.find("certificate");
  if (it == body.end()) return makeError("missing field `certificate`");
  auto cert = byteArray(*it, "certificate");
  if (!cert.ok()) return cert.error();
  CertificateConstraint cc;
  cc.certificate = std::move(*cert);
  auto chain = body.find("certificate_chain");
  if (chain != body.end() && !chain->is_null()) {
    if (!chain->is_array()) return makeError("field `certificate_chain`: expected an array");
    cc.chain.emplace();
    for (const auto& c : *chain) {
      auto bytes = byteArray(c, "certificate_chain");
      if (!bytes.ok()) return bytes.error();
      cc.chain->push_back(std::move(*bytes));
    }
  }
  auto rekor = body.find("require_rekor_bundle");
  if (rekor == body.end()) return makeError("missing field `require_rekor_bundle`");
  if (!rekor->is_boolean()) return makeError("field `require_rekor_bundle`: expected a boolean");
  cc.require_rekor_bundle = rekor->get<bool>();
  req.certificate = true;
  req.all_of.push_back({std::move(cc), annotations});
  return req;
}

Result<VerificationRequest> parseVariant(const std::string& type, const json& body) {
  if (!body.is_object()) return makeError("expected an object");
  VerificationRequest req;
  auto image = requireString(body, "image");
  if (!image.ok()) return image.error();
  req.image = *image;
  auto annotations = parseAnnotations(body);
  if (!annotations.ok()) return annotations.error();
  if (type == "SigstorePubKeyVerify") return pubKeys(body, std::move(req), *annotations);
  if (type == "SigstoreKeylessVerify") return keyless(body, std::move(req), *annotations, false);
  if (type == "SigstoreKeylessPrefixVerify") {
    return keyless(body, std::move(req), *annotations, true);
  }
  if (type == "SigstoreGithubActionsVerify") return github(body, std::move(req), *annotations);
  if (type == "SigstoreCertificateVerify") return certificate(body, std::move(req), *annotations);
  return makeError(fmt::format("unknown variant `{}`", type));
}

Result<VerificationRequest> withContext(Result<VerificationRequest> r, const char* op) {
  if (r.ok()) return r;
  return makeError(fmt::format("cannot decode the {} payload: {}", op, r.error().message));
}

}  // namespace

Result<VerificationRequest> parseVerificationInputV1(std::string_view payload) {
  json doc = json::parse(payload, nullptr, false);
  if (doc.is_discarded()) return makeError("cannot decode the oci/v1/verify payload: not JSON");
  if (!doc.is_object() || doc.size() != 1) {
    return makeError(
        "cannot decode the oci/v1/verify payload: expected {\"SigstorePubKeyVerify\":{…}} or "
        "{\"SigstoreKeylessVerify\":{…}}");
  }
  const std::string type = doc.begin().key();
  if (type != "SigstorePubKeyVerify" && type != "SigstoreKeylessVerify") {
    return makeError(
        fmt::format("cannot decode the oci/v1/verify payload: unknown variant `{}`", type));
  }
  return withContext(parseVariant(type, doc.begin().value()), "oci/v1/verify");
}

Result<VerificationRequest> parseVerificationInputV2(std::string_view payload) {
  json doc = json::parse(payload, nullptr, false);
  if (doc.is_discarded()) return makeError("cannot decode the oci/v2/verify payload: not JSON");
  if (!doc.is_object())
    return makeError("cannot decode the oci/v2/verify payload: expected an object");
  auto type = requireString(doc, "type");
  if (!type.ok()) return withContext(type.error(), "oci/v2/verify");
  return withContext(parseVariant(*type, doc), "oci/v2/verify");
}

}  // namespace kw::sigstore
