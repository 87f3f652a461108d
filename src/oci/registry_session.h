// Authenticated requests to one registry API: sends anonymously or with a cached
// Authorization, answers a 401 challenge (Bearer token from the realm, or Basic) once, and
// turns registry error bodies into one-line messages. Thread-safe; tokens are shared.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "oci/docker_config.h"
#include "oci/http_transport.h"
#include "oci/reference.h"

namespace kw::oci {

enum class Access { Pull, Push };

class RegistrySession {
 public:
  RegistrySession(HttpTransport& transport, std::filesystem::path docker_config_file);

  // `request.url` is a path ("/v2/…", joined to the registry's API host) or an absolute URL.
  // 401 after authenticating becomes an error; other statuses are returned.
  Result<HttpResponse> send(const Reference& ref, HttpRequest request, Access access);

  // "registry 127.0.0.1:5000 answered 400 Bad Request to PUT …: CODE: message".
  Error statusError(const Reference& ref, const HttpResponse& response,
                    const std::string& action) const;
  std::string baseUrl(const Reference& ref) const;

 private:
  std::optional<Credentials> credentials(const std::string& registry);
  Result<std::string> authorize(const Reference& ref, const HttpResponse& challenge, Access access,
                                bool* used_credentials);
  Result<std::string> fetchToken(const Reference& ref, std::map<std::string, std::string> params,
                                 Access access, bool* used_credentials);

  HttpTransport& transport_;
  std::filesystem::path config_file_;
  std::mutex mu_;
  std::map<std::string, std::string> authorization_;  // "host|repo|access" → header value
};

}  // namespace kw::oci
