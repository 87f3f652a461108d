// Credentials for the test control plane, made with the openssl CLI: a CA, the API server's
// serving certificate, an admin client certificate and the service-account signing key pair.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kw::cluster {

struct Pki {
  std::filesystem::path dir;
  std::filesystem::path ca_cert, ca_key;
  std::filesystem::path serving_cert, serving_key;  // SAN: IP 127.0.0.1, DNS localhost
  std::filesystem::path admin_cert, admin_key;      // O=system:masters: every right, via RBAC
  // kube-controller-manager's identity (CN=system:kube-controller-manager, O=system:masters).
  std::filesystem::path kcm_cert, kcm_key;
  std::filesystem::path sa_key, sa_pub;             // signs and checks service-account tokens
};

// Fresh files in `dir` (any old ones are replaced). On failure, `error` names the step and
// quotes openssl's output (also kept in dir/openssl.log).
bool makePki(const std::filesystem::path& dir, Pki& pki, std::string& error);

// A webhook server's credentials: a CA of its own (its certificate goes into the webhook's
// caBundle) and the serving certificate it signs, with SAN IP 127.0.0.1 plus `dns_names`
// (a Service reference needs "<service>.<namespace>.svc").
struct ServingPki {
  std::filesystem::path dir;
  std::filesystem::path ca_cert, ca_key;
  std::filesystem::path cert, key;
};
bool makeServingPki(const std::filesystem::path& dir, const std::vector<std::string>& dns_names,
                    ServingPki& pki, std::string& error);

}  // namespace kw::cluster
