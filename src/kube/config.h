// How to reach the Kubernetes API server: from a kubeconfig file or from the in-cluster service
// account, resolved into one flat Config the client uses as is.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace kw::kube {

struct Config {
  std::string server;  // "https://host:port", no trailing slash
  std::string ca_pem;  // empty: the system trust store
  bool insecure_skip_tls_verify = false;
  std::string token;
  std::string token_file;  // re-read periodically by the client (service-account rotation)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string username;
  std::string password;
  std::string origin;  // "kubeconfig /path (context x)" or "in-cluster", for messages
};

// Reads a kubeconfig. Without `path`: the first file of $KUBECONFIG (only the first of a
// colon-separated list is read), else ~/.kube/config. Uses current-context.
Result<Config> loadKubeconfig(std::optional<std::filesystem::path> path = std::nullopt);

// In-cluster: KUBERNETES_SERVICE_HOST/PORT plus token and ca.crt in `sa_dir`.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
Result<Config> loadInCluster(const std::filesystem::path& sa_dir = kServiceAccountDir);

// As kube-rs `Config::infer`: a kubeconfig when one exists, else the in-cluster config.
Result<Config> inferConfig();

}  // namespace kw::kube
