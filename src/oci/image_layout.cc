#include "oci/image_layout.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kw::oci {
namespace fs = std::filesystem;

namespace {

Result<std::string> readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(fmt::format("cannot read {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<fs::path> blobFile(const fs::path& layout, const std::string& digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.rfind(kPrefix, 0) != 0 || digest.size() != kPrefix.size() + 64) {
    return makeError(fmt::format("{}: unsupported digest {}", layout.string(), digest));
  }
  fs::path path = layout / "blobs" / "sha256" / digest.substr(kPrefix.size());
  if (!fs::is_regular_file(path)) {
    return makeError(fmt::format("{}: blob {} is missing", layout.string(), digest));
  }
  return path;
}

}  // namespace

Result<std::string> pushImageLayout(RegistryClient& client, const Reference& ref,
                                    const fs::path& layout) {
  auto index_text = readText(layout / "index.json");
  if (!index_text) return index_text.error();
  nlohmann::json index = nlohmann::json::parse(*index_text, nullptr, false);
  if (index.is_discarded() || !index.contains("manifests") || index["manifests"].size() != 1) {
    return makeError(fmt::format("{}: index.json must list exactly one manifest", layout.string()));
  }
  const auto& entry = index["manifests"][0];
  auto manifest_file = blobFile(layout, entry.value("digest", ""));
  if (!manifest_file) return manifest_file.error();
  auto manifest_text = readText(*manifest_file);
  if (!manifest_text) return manifest_text.error();
  nlohmann::json manifest = nlohmann::json::parse(*manifest_text, nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("config") || !manifest.contains("layers")) {
    return makeError(fmt::format("{}: the manifest has no config or layers", layout.string()));
  }

  std::vector<nlohmann::json> blobs{manifest["config"]};
  for (const auto& layer : manifest["layers"]) blobs.push_back(layer);
  for (const auto& descriptor : blobs) {
    std::string digest = descriptor.value("digest", "");
    auto file = blobFile(layout, digest);
    if (!file) return file.error();
    auto pushed = client.pushBlob(ref, Upload{descriptor.value("mediaType", ""), {}, *file});
    if (!pushed) return pushed.error();
    // The registry computes the digest of what it received; ours must be the same.
    if (*pushed != digest) {
      return makeError(fmt::format("{}: blob {} hashes to {}", layout.string(), digest, *pushed));
    }
  }
  return client.pushManifest(ref, *manifest_text,
                             manifest.value("mediaType", std::string(kOciManifestMediaType)));
}

}  // namespace kw::oci
