// libcurl underneath the registry client and the https:// fetcher. Applies sources.yml per
// host: extra CAs (source_authorities) on top of the system roots, and for insecure_sources
// unverified TLS with a fallback to plain HTTP when the host does not speak TLS at all, as
// upstream's policy-fetcher does. Safe to use from many threads: easy handles come from a
// pool (so connections are reused) and every piece of shared state sits behind a mutex.
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
#include "oci/registry_client.h"
#include "oci/sources.h"

namespace kw::oci {

// Bodies collected in memory (manifests, tokens, signature payloads, error texts) are small by
// nature; a registry that sends more is refused rather than allowed to grow our memory. 4 MiB
// is the manifest size the OCI distribution spec asks registries to accept.
inline constexpr uint64_t kMaxCollectedBody = 4u << 20;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute: https://host[:port]/path (http:// only for insecure hosts)
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST/PUT/PATCH when body_file is unset
  std::optional<std::filesystem::path> body_file;  // streamed from disk
  // Streams the response body; return false to abort. Unset: collected in HttpResponse::body,
  // up to `max_body` bytes (more is an error naming `label`).
  std::function<bool(const char*, size_t)> sink;
  uint64_t max_body = kMaxCollectedBody;
  bool follow_redirects = false;
  bool report_progress = false;  // call ClientOptions::progress for this body
  uint64_t progress_total = 0;   // known size, else Content-Length
  std::string label;             // who we talk to, for messages: "registry 127.0.0.1:5000"
};

struct HttpResponse {
  long status = 0;
  std::string status_line;                     // "HTTP/1.1 404 Not Found"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string effective_url;

  std::string header(const std::string& lower_name) const;
  std::string reason() const;  // "404 Not Found"
};

class HttpTransport {
 public:
  HttpTransport(Sources sources, bool verbose, ProgressFn progress, long connect_timeout_seconds);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Performs the request; transport failures (no connection, TLS) become errors naming
  // `request.label`. HTTP statuses, 4xx/5xx included, are responses.
  Result<HttpResponse> perform(const HttpRequest& request);
  // "https" or "http": the scheme that works for `host` (http once an insecure host fell back).
  std::string schemeFor(const std::string& host) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// host[:port] of an absolute URL ("" when it has none).
std::string urlHost(const std::string& url);

}  // namespace kw::oci
