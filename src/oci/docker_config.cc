#include "oci/docker_config.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "common/base64.h"

namespace kw::oci {
namespace {

// "https://index.docker.io/v1/" → "index.docker.io"; "host:5000" stays.
std::string normalizeKey(std::string key) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.rfind(scheme, 0) == 0) key = key.substr(scheme.size());
  }
  return key.substr(0, key.find('/'));
}

bool isDockerHub(const std::string& host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

std::optional<Credentials> fromEntry(const nlohmann::json& entry) {
  if (!entry.is_object()) return std::nullopt;
  if (auto auth = entry.find("auth"); auth != entry.end() && auth->is_string()) {
    // An undecodable "auth" falls through to username/password, like an absent one.
    auto decoded = base64Decode(auth->get<std::string>());
    auto colon = decoded.ok() ? decoded->find(':') : std::string::npos;
    if (colon != std::string::npos) {
      return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
    }
  }
  auto user = entry.find("username");
  auto pass = entry.find("password");
  if (user != entry.end() && pass != entry.end() && user->is_string() && pass->is_string()) {
    return Credentials{user->get<std::string>(), pass->get<std::string>()};
  }
  return std::nullopt;
}

}  // namespace

std::filesystem::path dockerConfigFile(const std::optional<std::filesystem::path>& dir) {
  if (dir) return *dir / "config.json";
  if (const char* env = std::getenv("DOCKER_CONFIG"); env && *env) {
    return std::filesystem::path(env) / "config.json";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : ".") / ".docker" / "config.json";
}

std::optional<Credentials> findCredentials(const std::filesystem::path& config_file,
                                           const std::string& registry) {
  std::ifstream in(config_file);
  if (!in) return std::nullopt;
  nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    spdlog::warn("ignoring {}: it is not valid JSON", config_file.string());
    return std::nullopt;
  }
  auto auths = config.find("auths");
  if (auths != config.end() && auths->is_object()) {
    // An exact key wins over a normalized one ("https://host/v2/" style keys).
    if (auto exact = auths->find(registry); exact != auths->end()) {
      if (auto c = fromEntry(*exact)) return c;
    }
    for (const auto& [key, entry] : auths->items()) {
      std::string host = normalizeKey(key);
      if (host == registry || (isDockerHub(host) && isDockerHub(registry))) {
        if (auto c = fromEntry(entry)) return c;
      }
    }
  }
  static std::mutex warned_mu;
  static std::set<std::string> warned;  // one warning per file and registry, not per request
  std::lock_guard lock(warned_mu);
  if ((config.contains("credsStore") || config.contains("credHelpers")) &&
      warned.insert(config_file.string() + "|" + registry).second) {
    spdlog::warn(
        "{} configures Docker credential helpers (credsStore/credHelpers), which are not "
        "supported; using only its `auths` entries for {}",
        config_file.string(), registry);
  }
  return std::nullopt;
}

}  // namespace kw::oci
