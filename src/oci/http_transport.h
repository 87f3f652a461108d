// The registry client's and the https:// fetcher's way onto net::HttpClient. Applies
// sources.yml per host: extra CAs (source_authorities) on top of the system roots, and for
// insecure_sources unverified TLS with a fallback to plain HTTP when the host does not speak TLS
// at all, as upstream's policy-fetcher does. Words transport failures for registry users. Safe
// to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "net/http_client.h"
#include "oci/registry_client.h"
#include "oci/sources.h"

namespace kw::oci {

// Bodies collected in memory (manifests, tokens, signature payloads, error texts) stay under
// net::kDefaultMaxBody, 4 MiB: the manifest size the OCI distribution spec asks registries to
// accept; a registry that sends more is refused.
struct HttpRequest : net::Request {
  bool report_progress = false;  // call ClientOptions::progress for this body
  uint64_t progress_total = 0;   // known size, else the upload's or Content-Length
  std::string label;             // who we talk to, for messages: "registry 127.0.0.1:5000"
};

using HttpResponse = net::Response;

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
