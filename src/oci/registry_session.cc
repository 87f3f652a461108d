#include "oci/registry_session.h"

#include <fmt/format.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/percent_encode.h"

namespace kw::oci {
namespace {

std::string cacheKey(const Reference& ref, Access access) {
  return fmt::format("{}|{}|{}", ref.apiHost(), ref.repository,
                     access == Access::Push ? "push" : "pull");
}

// `Bearer realm="https://auth",service="registry",scope="repository:x:pull"` → scheme, params.
std::string parseChallenge(const std::string& header, std::map<std::string, std::string>& params) {
  size_t i = 0;
  while (i < header.size() && std::isspace(static_cast<unsigned char>(header[i]))) ++i;
  size_t start = i;
  while (i < header.size() && !std::isspace(static_cast<unsigned char>(header[i]))) ++i;
  std::string scheme = header.substr(start, i - start);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (i < header.size()) {
    while (i < header.size() &&
           (header[i] == ',' || std::isspace(static_cast<unsigned char>(header[i]))))
      ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = header.substr(i, eq - i);
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      size_t close = header.find('"', i + 1);
      if (close == std::string::npos) close = header.size();
      value = header.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      size_t comma = header.find(',', i);
      if (comma == std::string::npos) comma = header.size();
      value = header.substr(i, comma - i);
      i = comma;
    }
    params[key] = value;
  }
  return scheme;
}

}  // namespace

RegistrySession::RegistrySession(HttpTransport& transport, std::filesystem::path config_file)
    : transport_(transport), config_file_(std::move(config_file)) {}

std::string RegistrySession::baseUrl(const Reference& ref) const {
  return transport_.schemeFor(ref.apiHost()) + "://" + ref.apiHost();
}

std::optional<Credentials> RegistrySession::credentials(const std::string& registry) {
  return findCredentials(config_file_, registry);
}

Result<HttpResponse> RegistrySession::send(const Reference& ref, HttpRequest request,
                                           Access access) {
  if (!request.url.empty() && request.url.front() == '/') request.url = baseUrl(ref) + request.url;
  if (request.label.empty()) request.label = "registry " + ref.registry;
  std::string key = cacheKey(ref, access);
  std::string cached;
  {
    std::lock_guard lock(mu_);
    if (auto it = authorization_.find(key); it != authorization_.end()) cached = it->second;
  }
  HttpRequest first = request;
  if (!cached.empty()) first.headers.push_back("Authorization: " + cached);
  auto response = transport_.perform(first);
  if (!response || response->status != 401) return response;

  bool used_credentials = false;
  auto authorization = authorize(ref, *response, access, &used_credentials);
  if (!authorization) return authorization.error();
  {
    std::lock_guard lock(mu_);
    authorization_[key] = *authorization;
  }
  request.headers.push_back("Authorization: " + *authorization);
  auto retried = transport_.perform(request);
  if (!retried || retried->status != 401) return retried;
  if (used_credentials) {
    return makeError(fmt::format(
        "registry {}: authentication failed ({}) for repository {}: check the credentials "
        "for {} in {}",
        ref.registry, retried->reason(), ref.repository, ref.registry, config_file_.string()));
  }
  return makeError(fmt::format(
      "registry {}: authentication required ({}) for repository {}: no credentials for {} in {}",
      ref.registry, retried->reason(), ref.repository, ref.registry, config_file_.string()));
}

Result<std::string> RegistrySession::authorize(const Reference& ref, const HttpResponse& challenge,
                                               Access access, bool* used_credentials) {
  std::map<std::string, std::string> params;
  std::string scheme = parseChallenge(challenge.header("www-authenticate"), params);
  if (scheme == "bearer") return fetchToken(ref, std::move(params), access, used_credentials);
  if (scheme == "basic") {
    auto creds = credentials(ref.registry);
    if (!creds) {
      return makeError(fmt::format(
          "registry {}: authentication required ({}) for repository {}: no credentials for {} "
          "in {}",
          ref.registry, challenge.reason(), ref.repository, ref.registry, config_file_.string()));
    }
    *used_credentials = true;
    return "Basic " + base64Encode(creds->username + ":" + creds->password);
  }
  return makeError(fmt::format("registry {} answered {} with an unsupported challenge \"{}\"",
                               ref.registry, challenge.reason(),
                               challenge.header("www-authenticate")));
}

Result<std::string> RegistrySession::fetchToken(const Reference& ref,
                                                std::map<std::string, std::string> params,
                                                Access access, bool* used_credentials) {
  std::string realm = params["realm"];
  if (realm.empty()) {
    return makeError(fmt::format("registry {}: Bearer challenge without a realm", ref.registry));
  }
  // A push needs both actions up front; otherwise the first (pull-scoped) challenge would cost
  // an extra token round trip when the upload starts.
  std::string scope = access == Access::Push ? std::string() : params["scope"];
  if (scope.empty()) {
    scope = fmt::format("repository:{}:{}", ref.repository,
                        access == Access::Push ? "pull,push" : "pull");
  }
  HttpRequest token_request;
  token_request.url =
      realm + (realm.find('?') == std::string::npos ? "?" : "&") + "scope=" + percentEncode(scope);
  if (!params["service"].empty())
    token_request.url += "&service=" + percentEncode(params["service"]);
  token_request.label = fmt::format("the token service of registry {}", ref.registry);
  if (auto creds = credentials(ref.registry)) {
    *used_credentials = true;
    token_request.headers.push_back("Authorization: Basic " +
                                    base64Encode(creds->username + ":" + creds->password));
  }
  auto response = transport_.perform(token_request);
  if (!response) return response.error();
  if (response->status == 401 || response->status == 403) {
    return makeError(fmt::format(
        "registry {}: authentication failed ({}) for repository {}: the token service refused "
        "the {}",
        ref.registry, response->reason(), ref.repository,
        *used_credentials ? "credentials from " + config_file_.string() : "anonymous request"));
  }
  if (response->status != 200) {
    return makeError(fmt::format("registry {}: the token service {} answered {}", ref.registry,
                                 realm, response->reason()));
  }
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  std::string token;
  if (body.is_object()) {
    if (body.contains("token") && body["token"].is_string()) {
      token = body["token"].get<std::string>();
    } else if (body.contains("access_token") && body["access_token"].is_string()) {
      token = body["access_token"].get<std::string>();
    }
  }
  if (token.empty()) {
    return makeError(
        fmt::format("registry {}: the token service {} returned no token", ref.registry, realm));
  }
  return "Bearer " + token;
}

Error RegistrySession::statusError(const Reference& ref, const HttpResponse& response,
                                   const std::string& action) const {
  std::string detail;
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("errors") && body["errors"].is_array()) {
    for (const auto& e : body["errors"]) {
      if (!e.is_object()) continue;
      std::string one = e.value("code", "") + ": " + e.value("message", "");
      detail += (detail.empty() ? "" : "; ") + one;
    }
  }
  std::string text =
      fmt::format("registry {} answered {} to {}", ref.registry, response.reason(), action);
  if (!detail.empty()) text += ": " + detail;
  return makeError(text);
}

}  // namespace kw::oci
