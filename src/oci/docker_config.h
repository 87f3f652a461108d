// Registry credentials from a Docker config.json (`auths`), as `docker login` writes them.
// Credential helpers (credsStore / credHelpers) are not run; a warning says so.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace kw::oci {

struct Credentials {
  std::string username;
  std::string password;
};

// `dir` unset: $DOCKER_CONFIG, else ~/.docker.
std::filesystem::path dockerConfigFile(const std::optional<std::filesystem::path>& dir);

// Credentials for `registry` (host[:port]; "docker.io" also matches Docker Hub's legacy key
// https://index.docker.io/v1/). Missing file or entry: nullopt.
std::optional<Credentials> findCredentials(const std::filesystem::path& config_file,
                                           const std::string& registry);

}  // namespace kw::oci
