#include "sigstore/signature_fetch.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace kw::sigstore {

std::string signatureTag(const std::string& image_digest) {
  std::string tag = image_digest;
  if (auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag + ".sig";
}

Result<std::vector<RawLayer>> parseSignatureManifest(const std::string& manifest_json) {
  auto doc = nlohmann::json::parse(manifest_json, nullptr, false);
  if (!doc.is_object() || !doc.contains("layers") || !doc["layers"].is_array()) {
    return makeError("the signature manifest is not an image manifest with layers");
  }
  std::vector<RawLayer> layers;
  for (const auto& l : doc["layers"]) {
    if (!l.is_object() || !l.contains("digest") || !l["digest"].is_string()) {
      return makeError("the signature manifest has a layer without a digest");
    }
    RawLayer raw;
    raw.digest = l["digest"].get<std::string>();
    if (l.contains("mediaType") && l["mediaType"].is_string()) {
      raw.media_type = l["mediaType"].get<std::string>();
    }
    if (l.contains("annotations") && l["annotations"].is_object()) {
      for (const auto& [k, v] : l["annotations"].items()) {
        if (v.is_string()) raw.annotations[k] = v.get<std::string>();
      }
    }
    layers.push_back(std::move(raw));
  }
  return layers;
}

Result<SignatureData> fetchSignatureData(oci::RegistryClient& registry, std::string_view image) {
  auto ref = oci::parseReference(image);
  if (!ref.ok()) return ref.error();
  SignatureData data;
  data.image = ref->whole();
  auto digest = registry.manifestDigest(*ref);
  if (!digest.ok()) {
    return makeError(fmt::format("cannot get the manifest digest of {}: {}", data.image,
                                 digest.error().message));
  }
  data.image_digest = *digest;

  oci::Reference sig_ref = *ref;
  sig_ref.tag = signatureTag(data.image_digest);
  sig_ref.digest.clear();
  auto manifest = registry.fetchManifest(sig_ref);
  if (!manifest.ok()) {
    spdlog::debug("sigstore: cannot fetch {}: {}", sig_ref.whole(), manifest.error().message);
    return makeError(fmt::format("no signatures found for image: {} ", data.image));
  }
  auto layers = parseSignatureManifest(manifest->bytes);
  if (!layers.ok())
    return makeError(fmt::format("{}: {}", sig_ref.whole(), layers.error().message));
  for (auto& layer : *layers) {
    auto blob = registry.fetchBlob(sig_ref, layer.digest);
    if (!blob.ok()) {
      return makeError(fmt::format("cannot fetch signature layer {} of {}: {}", layer.digest,
                                   sig_ref.whole(), blob.error().message));
    }
    layer.blob = std::move(*blob);
  }
  data.layers = std::move(*layers);
  return data;
}

}  // namespace kw::sigstore
