#include "kwctl/signatures.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "oci/reference.h"

namespace kw::kwctl {

std::string signatureTag(const std::string& digest) {
  std::string tag = digest;
  if (auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag + ".sig";
}

Result<std::vector<SignatureLayer>> parseSignatureManifest(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return makeError("the signature manifest is not valid JSON");
  }
  std::vector<SignatureLayer> layers;
  auto it = doc.find("layers");
  if (it == doc.end() || !it->is_array()) return layers;
  for (const auto& l : *it) {
    if (!l.is_object()) continue;
    SignatureLayer layer;
    layer.digest = l.value("digest", "");
    layer.media_type = l.value("mediaType", "");
    layer.size = l.value("size", uint64_t{0});
    if (auto a = l.find("annotations"); a != l.end() && a->is_object()) {
      for (const auto& [k, v] : a->items()) {
        layer.annotations.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

Result<std::optional<std::vector<SignatureLayer>>> fetchSignatures(oci::RegistryClient& client,
                                                                   const std::string& uri) {
  auto ref = oci::parseReference(uri);
  if (!ref) return ref.error();
  auto digest =
      ref->digest.empty() ? client.manifestDigest(*ref) : Result<std::string>(ref->digest);
  if (!digest) return digest.error();
  auto tags = client.listTags(*ref);
  if (!tags) return tags.error();
  std::string tag = signatureTag(*digest);
  if (std::find(tags->begin(), tags->end(), tag) == tags->end()) {
    return std::optional<std::vector<SignatureLayer>>();
  }
  oci::Reference sig = *ref;
  sig.tag = tag;
  sig.digest.clear();
  auto manifest = client.fetchManifest(sig);
  if (!manifest) return manifest.error();
  auto layers = parseSignatureManifest(manifest->bytes);
  if (!layers) return layers.error();
  return std::optional<std::vector<SignatureLayer>>(std::move(*layers));
}

std::string renderSignatures(const std::vector<SignatureLayer>& layers) {
  std::string out;
  for (const auto& l : layers) {
    if (!out.empty()) out += "\n";
    out += fmt::format("Digest:     {}\nMedia type: {}\nSize:       {}\n", l.digest, l.media_type,
                       l.size);
    if (!l.annotations.empty()) {
      out += "Annotations\n";
      for (const auto& [k, v] : l.annotations) out += fmt::format("  {}: {}\n", k, v);
    }
  }
  return out;
}

}  // namespace kw::kwctl
