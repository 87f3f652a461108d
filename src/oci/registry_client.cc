#include "oci/registry_client.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "oci/atomic_file.h"
#include "oci/digest.h"
#include "oci/docker_config.h"
#include "oci/http_transport.h"
#include "oci/registry_session.h"

namespace kw::oci {
namespace fs = std::filesystem;
namespace {

constexpr const char* kDockerManifestMediaType =
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kOciIndexMediaType = "application/vnd.oci.image.index.v1+json";
constexpr const char* kDockerListMediaType =
    "application/vnd.docker.distribution.manifest.list.v2+json";

// Registry 2.8 answers 404 to a manifest GET that does not accept the OCI type.
std::string manifestAccept() {
  return fmt::format("Accept: {}, {}, {}, {}", kOciManifestMediaType, kDockerManifestMediaType,
                     kOciIndexMediaType, kDockerListMediaType);
}

std::string manifestPath(const Reference& ref, const std::string& what) {
  return fmt::format("/v2/{}/manifests/{}", ref.repository, what);
}

std::string blobPath(const Reference& ref, const std::string& digest) {
  return fmt::format("/v2/{}/blobs/{}", ref.repository, digest);
}

Error manifestNotFound(const Reference& ref) {
  return makeError(fmt::format("manifest not found: {}", ref.whole()));
}

std::string mediaTypeOf(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

// The registry's Location for an upload is relative or absolute; the digest joins its query.
std::string uploadUrl(const std::string& base, const std::string& location,
                      const std::string& digest) {
  std::string url = location.rfind("/", 0) == 0 ? base + location : location;
  return url + (url.find('?') == std::string::npos ? "?" : "&") +
         "digest=" + fmt::format("sha256%3A{}", digest.substr(7));
}

// A string member of a manifest object: `fallback` when absent or null, nullopt when it holds
// anything else (json::value() would throw, and a registry's answer is untrusted).
std::optional<std::string> stringMember(const nlohmann::json& object, const char* key,
                                        const std::string& fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

struct RegistryClient::Impl {
  ClientOptions options;
  HttpTransport transport;
  RegistrySession session;

  explicit Impl(ClientOptions o)
      : options(std::move(o)),
        transport(options.sources, options.verbose, options.progress,
                  options.connect_timeout_seconds),
        session(transport, dockerConfigFile(options.docker_config_dir)) {}

  Result<PulledBlob> download(const Reference& ref, const std::string& digest, uint64_t size,
                              const fs::path& dest, bool wasm) {
    AtomicWriteOptions write_options;
    write_options.expected_digest = digest;
    write_options.require_wasm_magic = wasm;
    write_options.what = fmt::format("the layer {} of {}", digest, ref.whole());
    auto written = writeAtomically(
        dest,
        [&](const ByteSink& sink) -> Status {
          HttpRequest req;
          req.url = blobPath(ref, digest);
          req.sink = sink;
          req.follow_redirects = true;  // registries may serve blobs from a CDN
          req.report_progress = true;
          req.progress_total = size;
          auto resp = session.send(ref, req, Access::Pull);
          if (!resp) return resp.error();
          if (resp->status == 404) {
            return makeError(fmt::format("blob {} not found in {}", digest, ref.whole()));
          }
          if (resp->status != 200) {
            return session.statusError(ref, *resp, "GET blob " + digest);
          }
          return okStatus();
        },
        write_options);
    if (!written) return written.error();
    return PulledBlob{written->digest, written->size};
  }
};

RegistryClient::RegistryClient(ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

RegistryClient::~RegistryClient() = default;

Result<std::string> RegistryClient::manifestDigest(const Reference& ref) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = manifestPath(ref, ref.manifestRef());
  req.headers.push_back(manifestAccept());
  auto resp = impl_->session.send(ref, req, Access::Pull);
  if (!resp) return resp.error();
  if (resp->status == 404) return manifestNotFound(ref);
  std::string digest = resp->header("docker-content-digest");
  if (resp->status == 200 && !digest.empty()) {
    // A pinned reference must come back as itself: a registry answering another digest would
    // otherwise swap what gets verified and pulled.
    if (!ref.digest.empty() && digest != ref.digest) {
      return makeError(fmt::format("digest mismatch for manifest {}: the registry answered {}",
                                   ref.digest, digest));
    }
    return digest;
  }
  // Some registries do not answer HEAD, or omit the header: hash the manifest instead.
  auto manifest = fetchManifest(ref);
  if (!manifest) return manifest.error();
  return manifest->digest;
}

Result<Manifest> RegistryClient::fetchManifest(const Reference& ref) {
  HttpRequest req;
  req.url = manifestPath(ref, ref.manifestRef());
  req.headers.push_back(manifestAccept());
  auto resp = impl_->session.send(ref, req, Access::Pull);
  if (!resp) return resp.error();
  if (resp->status == 404) return manifestNotFound(ref);
  if (resp->status != 200) {
    return impl_->session.statusError(ref, *resp, "GET manifest " + ref.manifestRef());
  }
  Manifest manifest{ociDigest(resp->body), mediaTypeOf(resp->header("content-type")),
                    std::move(resp->body)};
  if (!ref.digest.empty() && manifest.digest != ref.digest) {
    return makeError(
        fmt::format("digest mismatch for manifest {}: got {}", ref.digest, manifest.digest));
  }
  return manifest;
}

Result<std::string> RegistryClient::fetchBlob(const Reference& ref, const std::string& digest) {
  HttpRequest req;
  req.url = blobPath(ref, digest);
  req.follow_redirects = true;
  auto resp = impl_->session.send(ref, req, Access::Pull);
  if (!resp) return resp.error();
  if (resp->status == 404) {
    return makeError(fmt::format("blob {} not found in {}", digest, ref.whole()));
  }
  if (resp->status != 200) return impl_->session.statusError(ref, *resp, "GET blob " + digest);
  std::string got = ociDigest(resp->body);
  if (got != digest)
    return makeError(fmt::format("digest mismatch for blob {}: got {}", digest, got));
  return std::move(resp->body);
}

Result<PulledBlob> RegistryClient::downloadBlob(const Reference& ref, const std::string& digest,
                                                const fs::path& dest) {
  return impl_->download(ref, digest, 0, dest, false);
}

Result<PolicyLayer> policyLayerOf(const Reference& ref, const std::string& manifest,
                                  const std::string& content_type) {
  auto doc = nlohmann::json::parse(manifest, nullptr, false);
  if (!doc.is_object()) {
    return makeError(fmt::format("the manifest of {} is not valid JSON", ref.whole()));
  }
  auto not_a_string = [&](std::string_view field) {
    return makeError(fmt::format("the manifest of {} has a {} that is not a string", ref.whole(),
                                 field));
  };
  auto media_type = stringMember(doc, "mediaType", content_type);
  if (!media_type) return not_a_string("mediaType");
  if (*media_type == kOciIndexMediaType || *media_type == kDockerListMediaType) {
    return makeError(fmt::format(
        "{} is an image index (a multi-platform container image), not a Wasm policy", ref.whole()));
  }
  std::vector<std::string> found;
  std::optional<PolicyLayer> wasm;
  if (doc.contains("layers") && doc["layers"].is_array()) {
    for (const auto& layer : doc["layers"]) {
      if (!layer.is_object()) continue;
      auto type = stringMember(layer, "mediaType", "");
      if (!type) return not_a_string("layer mediaType");
      if (*type != kWasmLayerMediaType) {
        found.push_back(type->empty() ? "(no media type)" : *type);
        continue;
      }
      // Two modules in one artifact leave it open which one was meant (and signed).
      if (wasm) {
        return makeError(fmt::format("{} has more than one layer with media type {}", ref.whole(),
                                     kWasmLayerMediaType));
      }
      auto digest = stringMember(layer, "digest", "");
      if (!digest) return not_a_string("layer digest");
      const auto& size = layer.contains("size") ? layer["size"] : nlohmann::json();
      wasm = PolicyLayer{*digest, size.is_number_unsigned() ? size.get<uint64_t>() : 0};
    }
  }
  if (wasm) return *wasm;
  std::string listed;
  for (const auto& t : found) listed += (listed.empty() ? "" : ", ") + t;
  return makeError(fmt::format("{} has no layer with media type {} (found: {})", ref.whole(),
                               kWasmLayerMediaType, listed.empty() ? "no layers" : listed));
}

Result<PolicyLayer> RegistryClient::policyLayer(const Reference& ref) {
  auto manifest = fetchManifest(ref);
  if (!manifest) return manifest.error();
  return policyLayerOf(ref, manifest->bytes, manifest->media_type);
}

Result<PulledBlob> RegistryClient::pullPolicy(const Reference& ref, const fs::path& dest) {
  auto layer = policyLayer(ref);
  if (!layer) return layer.error();
  return impl_->download(ref, layer->digest, layer->size, dest, true);
}

Result<std::string> RegistryClient::pushBlob(const Reference& ref, const Upload& blob) {
  std::string digest;
  if (blob.path) {
    auto hex = sha256File(*blob.path);
    if (!hex) return hex.error();
    digest = "sha256:" + *hex;
  } else {
    digest = ociDigest(blob.bytes);
  }
  auto& session = impl_->session;
  HttpRequest head;
  head.method = "HEAD";
  head.url = blobPath(ref, digest);
  auto exists = session.send(ref, head, Access::Push);
  if (!exists) return exists.error();
  if (exists->status == 200) return digest;  // already there (e.g. the shared "{}" config)

  // Registry 2.8 silently drops a single-POST monolithic upload: start, then PUT the bytes.
  HttpRequest start;
  start.method = "POST";
  start.url = fmt::format("/v2/{}/blobs/uploads/", ref.repository);
  auto started = session.send(ref, start, Access::Push);
  if (!started) return started.error();
  std::string location = started->header("location");
  if (started->status != 202 || location.empty()) {
    return session.statusError(ref, *started, "POST blob upload");
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = uploadUrl(session.baseUrl(ref), location, digest);
  put.headers.push_back("Content-Type: application/octet-stream");
  if (blob.path) {
    put.body_file = *blob.path;
    put.report_progress = true;
  } else {
    put.body = blob.bytes;
  }
  auto done = session.send(ref, put, Access::Push);
  if (!done) return done.error();
  if (done->status != 201) return session.statusError(ref, *done, "PUT blob " + digest);
  return digest;
}

Result<std::string> RegistryClient::pushManifest(const Reference& ref, const std::string& bytes,
                                                 const std::string& media_type) {
  HttpRequest put;
  put.method = "PUT";
  put.url = manifestPath(ref, ref.manifestRef());
  put.headers.push_back("Content-Type: " + media_type);
  put.body = bytes;
  auto resp = impl_->session.send(ref, put, Access::Push);
  if (!resp) return resp.error();
  if (resp->status != 201 && resp->status != 200) {
    return impl_->session.statusError(ref, *resp, "PUT manifest " + ref.manifestRef());
  }
  return ociDigest(bytes);
}

Result<PushedArtifact> RegistryClient::pushPolicy(
    const Reference& ref, const fs::path& wasm,
    const std::map<std::string, std::string>& annotations) {
  std::error_code ec;
  uint64_t wasm_size = fs::file_size(wasm, ec);
  if (ec) return makeError(fmt::format("cannot read {}: {}", wasm.string(), ec.message()));
  // The Wasm OCI artifact convention (and upstream's policy-fetcher) uses an empty JSON config.
  const std::string config = "{}";
  auto config_digest = pushBlob(ref, Upload{kWasmConfigMediaType, config, std::nullopt});
  if (!config_digest) return config_digest.error();
  auto layer_digest = pushBlob(ref, Upload{kWasmLayerMediaType, {}, wasm});
  if (!layer_digest) return layer_digest.error();

  nlohmann::ordered_json manifest;
  manifest["schemaVersion"] = 2;
  manifest["mediaType"] = kOciManifestMediaType;
  manifest["config"] = {
      {"mediaType", kWasmConfigMediaType}, {"digest", *config_digest}, {"size", config.size()}};
  manifest["layers"] = nlohmann::ordered_json::array(
      {{{"mediaType", kWasmLayerMediaType}, {"digest", *layer_digest}, {"size", wasm_size}}});
  if (!annotations.empty()) manifest["annotations"] = annotations;
  auto digest = pushManifest(ref, manifest.dump(), kOciManifestMediaType);
  if (!digest) return digest.error();
  return PushedArtifact{*digest, fmt::format("{}/{}@{}", ref.registry, ref.repository, *digest)};
}

Result<std::vector<std::string>> RegistryClient::listTags(const Reference& ref) {
  std::vector<std::string> tags;
  std::string next = fmt::format("/v2/{}/tags/list", ref.repository);
  while (!next.empty()) {
    HttpRequest req;
    req.url = next;
    auto resp = impl_->session.send(ref, req, Access::Pull);
    if (!resp) return resp.error();
    if (resp->status == 404) {
      return makeError(fmt::format("repository not found: {}/{}", ref.registry, ref.repository));
    }
    if (resp->status != 200) return impl_->session.statusError(ref, *resp, "GET tags/list");
    auto doc = nlohmann::json::parse(resp->body, nullptr, false);
    if (doc.is_object() && doc.contains("tags") && doc["tags"].is_array()) {
      for (const auto& t : doc["tags"]) {
        if (t.is_string()) tags.push_back(t.get<std::string>());
      }
    }
    // Pagination: Link: </v2/…/tags/list?last=x&n=y>; rel="next"
    std::string link = resp->header("link");
    auto open = link.find('<');
    auto close = link.find('>');
    next = (link.find("rel=\"next\"") != std::string::npos && open != std::string::npos &&
            close != std::string::npos)
               ? link.substr(open + 1, close - open - 1)
               : std::string();
  }
  return tags;
}

}  // namespace kw::oci
