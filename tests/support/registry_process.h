// A throwaway OCI registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1
// and a free port, with its config and storage in a temp dir that is removed afterwards. Three
// modes: plain HTTP, TLS with a CA generated here, and htpasswd basic auth (bcrypt) with a
// Docker config.json holding the credentials.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "oci/registry_client.h"
#include "oci/sources.h"

namespace kw::test {

class RegistryProcess {
 public:
  enum class Mode { Http, Tls, BasicAuth };
  static constexpr const char* kBinary = "/usr/bin/docker-registry";
  static constexpr const char* kUser = "kwuser";
  static constexpr const char* kPassword = "kwpass";

  explicit RegistryProcess(Mode mode);
  ~RegistryProcess();
  RegistryProcess(const RegistryProcess&) = delete;
  RegistryProcess& operator=(const RegistryProcess&) = delete;

  // Empty when usable; otherwise why not (missing binary: tests skip with this text).
  static std::string unavailableReason(Mode mode);
  // True once /v2/ answered; otherwise error() says why (with the registry's log).
  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  std::string log() const;
  void stop();

  uint16_t port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path storageDir() const { return dir_ / "storage"; }
  const std::string& caPem() const { return ca_pem_; }                       // TLS mode only
  std::filesystem::path dockerConfigDir() const { return dir_ / "docker"; }  // BasicAuth only
  // insecure_sources for Http, source_authorities (inline PEM) for Tls, nothing for BasicAuth.
  oci::Sources sources() const;
  // sources() and, for BasicAuth, the docker config folder.
  oci::ClientOptions clientOptions() const;
  // Where the registry keeps the content of blob `digest` ("sha256:<hex>").
  std::filesystem::path blobDataPath(const std::string& digest) const;

  // Writes <dir>/config.json with `auths[host].auth` = base64(user:password).
  static void writeDockerConfig(const std::filesystem::path& dir, const std::string& host,
                                const std::string& user, const std::string& password);

 private:
  bool writeConfig(std::string& why);
  bool waitReady(int timeout_ms);

  Mode mode_;
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
  std::string error_;
  std::string ca_pem_;
};

}  // namespace kw::test
