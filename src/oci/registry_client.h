// An OCI distribution client on net::HttpClient: the registry side of `kwctl
// pull/push/digest/inspect`, the policy-server's registry:// downloads, the
// `oci/v1/manifest_digest` host capability and the sigstore verifier all talk to registries
// through this one class.
//
// Auth: anonymous, Bearer tokens negotiated from `WWW-Authenticate`, and basic auth, with
// credentials from a Docker config.json. TLS and plain HTTP follow sources.yml.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/reference.h"
#include "oci/sources.h"

namespace kw::oci {

inline constexpr const char* kWasmLayerMediaType = "application/vnd.wasm.content.layer.v1+wasm";
inline constexpr const char* kWasmConfigMediaType = "application/vnd.wasm.config.v1+json";
inline constexpr const char* kOciManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

// Bytes moved so far and the total when known (0 otherwise). Called often; must be cheap.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct ClientOptions {
  Sources sources;
  // The folder holding config.json (as `--docker-config-json-path` / $DOCKER_CONFIG); unset means
  // $DOCKER_CONFIG, else ~/.docker.
  std::optional<std::filesystem::path> docker_config_dir;
  bool verbose = false;  // log each HTTP exchange at debug level, credentials redacted
  ProgressFn progress;   // optional
  long connect_timeout_seconds = 10;
};

struct Manifest {
  std::string digest;      // sha256 of `bytes`
  std::string media_type;  // from Content-Type
  std::string bytes;       // the manifest exactly as served
};

// The one Wasm layer of a policy artifact.
struct PolicyLayer {
  std::string digest;  // "sha256:<hex>" of the module
  uint64_t size = 0;   // 0 when the manifest does not say
};

struct PulledBlob {
  std::string digest;  // verified
  uint64_t size = 0;
};

struct PushedArtifact {
  std::string manifest_digest;
  // "host/repo@sha256:…": the immutable reference upstream's kwctl push prints (no tag, as
  // policy-fetcher's build_immutable_ref writes it).
  std::string reference;
};

// A blob or manifest to upload: bytes in memory or a file streamed from disk.
struct Upload {
  std::string media_type;
  std::string bytes;                          // used when `path` is empty
  std::optional<std::filesystem::path> path{};  // streamed, never read whole into memory
};

// The one Wasm layer a fetched manifest lists (what policyLayer() does after the download):
// `content_type` is the media type the registry served it with, used when the manifest has none.
// Errors name `ref`: not JSON, an image index, no Wasm layer, or more than one.
Result<PolicyLayer> policyLayerOf(const Reference& ref, const std::string& manifest,
                                  const std::string& content_type);

class RegistryClient {
 public:
  explicit RegistryClient(ClientOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // The manifest digest the registry reports for `ref` (HEAD, falling back to GET).
  Result<std::string> manifestDigest(const Reference& ref);
  // The manifest, verified against its digest when `ref` names one.
  Result<Manifest> fetchManifest(const Reference& ref);
  // A small blob (config, signature payload) into memory, verified against `digest`.
  Result<std::string> fetchBlob(const Reference& ref, const std::string& digest);
  // A blob streamed into `dest`: written to a temporary file beside it, verified, then renamed.
  // On any error `dest` is untouched and no temporary file remains.
  Result<PulledBlob> downloadBlob(const Reference& ref, const std::string& digest,
                                  const std::filesystem::path& dest);
  // The Wasm layer of the policy artifact `ref` names. The manifest is checked against `ref`'s
  // digest when it has one, so the layer digest is bound to that pin.
  Result<PolicyLayer> policyLayer(const Reference& ref);
  // Pulls a Wasm policy artifact (OCI manifest with one wasm layer) into `dest`, atomically:
  // streamed to a temporary file beside it while hashed, verified against the layer digest
  // and the Wasm magic bytes, fsynced, renamed. Missing parent folders are created (and
  // removed again on failure).
  Result<PulledBlob> pullPolicy(const Reference& ref, const std::filesystem::path& dest);
  // Pushes the module at `wasm` as a Wasm artifact (config + layer + OCI manifest) to `ref`.
  // `annotations` go into the manifest.
  Result<PushedArtifact> pushPolicy(const Reference& ref, const std::filesystem::path& wasm,
                                    const std::map<std::string, std::string>& annotations = {});
  // Lower-level pieces used by pushPolicy and by cosign signature uploads.
  Result<std::string> pushBlob(const Reference& ref, const Upload& blob);  // → digest
  Result<std::string> pushManifest(const Reference& ref, const std::string& bytes,
                                   const std::string& media_type);  // → digest
  // Tags of a repository (GET /v2/<repo>/tags/list), used to find cosign `.sig` tags.
  Result<std::vector<std::string>> listTags(const Reference& ref);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kw::oci
