// POSTs AdmissionReviews to policy-servers over HTTPS (net::HttpClient, whose pooled handles
// keep their connections, one per endpoint, so a scan reuses TLS sessions while the
// round-robin over targets (endpoints.h) spreads the load). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "audit/endpoints.h"
#include "common/result.h"
#include "net/http_client.h"

namespace kw::audit {

struct HttpOptions {
  std::string extra_ca_file;  // PEM; trusted on top of the system roots
  bool insecure = false;      // skip TLS verification
  long timeout_ms = 30000;
  long connect_timeout_ms = 5000;
};

class PolicyServerClient {
 public:
  struct Reply {
    long status = 0;
    std::string body;
  };
  explicit PolicyServerClient(HttpOptions options);
  ~PolicyServerClient();
  PolicyServerClient(const PolicyServerClient&) = delete;
  PolicyServerClient& operator=(const PolicyServerClient&) = delete;

  // POST `body` to `target.base_url + path`; transport failures are errors naming the URL.
  Result<Reply> post(const Target& target, const std::string& path, const std::string& body);

 private:
  HttpOptions options_;
  net::TlsOptions tls_;
  Status tls_status_ = okStatus();  // a CA file that could not be loaded fails every request
  net::HttpClient http_;
};

// "host:port" of an absolute URL (port from the scheme when absent); "" when malformed.
std::string urlHostPort(const std::string& url);

}  // namespace kw::audit
