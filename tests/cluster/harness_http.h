// One HTTPS GET for the harness's readiness checks (kube-apiserver's /readyz,
// kube-controller-manager's /healthz, the API objects they are judged by).
#pragma once

#include <filesystem>
#include <string>

namespace kw::cluster {

struct HttpsAnswer {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::string error;  // why the request failed (a CA file unread, no connection...)
  // "HTTP 200: ok" or the transport error, for messages.
  std::string describe() const;
};

// GET `url` trusting only `ca`; with `cert`/`key` as the client certificate when given.
HttpsAnswer httpsGet(const std::string& url, const std::filesystem::path& ca,
                     const std::filesystem::path& cert = {}, const std::filesystem::path& key = {},
                     long timeout_ms = 2000);

}  // namespace kw::cluster
