// How to reach the Kubernetes API server: from a kubeconfig file or from the in-cluster service
// account, resolved into one flat Config the client uses as is.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kw::kube {

// A kubeconfig user's `exec` credential plugin (client.authentication.k8s.io v1 or v1beta1),
// checked at load time; kube/exec_credential.h runs it.
struct ExecConfig {
  std::string api_version;
  std::string command;  // relative with a '/': already resolved against its kubeconfig's folder
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  std::string interactive_mode;  // Never or IfAvailable (Always is refused: we have no terminal)
  // `spec.cluster` of the ExecCredential as JSON text when provideClusterInfo is true, else empty.
  std::string cluster_info_json;
  std::string user;  // the kubeconfig user's name, for messages
};

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
  // Set when the user's credentials come from an exec plugin (and from nothing else: a static
  // token, certificate or password in the same user wins, as with kubectl).
  std::optional<ExecConfig> exec;
  std::string origin;  // "kubeconfig /path (context x)" or "in-cluster", for messages
};

// Reads a kubeconfig and resolves its current-context. With `path`: that file alone. Without:
// the files of the colon-separated $KUBECONFIG merged as kubectl merges them (empty entries and
// missing files skipped; an error naming them all if none exists; per cluster, user and context
// name the first file defining it wins; current-context comes from the first file setting it;
// relative paths are relative to the file that defined the entry), else ~/.kube/config.
Result<Config> loadKubeconfig(std::optional<std::filesystem::path> path = std::nullopt);

// In-cluster: KUBERNETES_SERVICE_HOST/PORT plus token and ca.crt in `sa_dir`.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
Result<Config> loadInCluster(const std::filesystem::path& sa_dir = kServiceAccountDir);

// As kube-rs `Config::infer`: the kubeconfig when $KUBECONFIG is set or ~/.kube/config exists,
// else the in-cluster config.
Result<Config> inferConfig();

}  // namespace kw::kube
