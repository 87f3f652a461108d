// The `users[].user.exec` block of a kubeconfig, checked as kubectl checks it when it loads the
// file, so a broken block is reported up front rather than at the first request.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>

#include "common/result.h"
#include "kube/config.h"

namespace kw::kube {

inline constexpr const char* kExecV1 = "client.authentication.k8s.io/v1";
inline constexpr const char* kExecV1beta1 = "client.authentication.k8s.io/v1beta1";

// A scalar field of a kubeconfig mapping as text; "" when absent or not a scalar.
std::string scalarField(const YAML::Node& node, const char* key);

// `base`: the folder of the kubeconfig that defined the user (for a relative command with a
// '/'); `where` prefixes every error ("kubeconfig F (context c) user u").
Result<ExecConfig> parseExecBlock(const YAML::Node& exec, const std::filesystem::path& base,
                                  const std::string& where);

// ExecCredential `spec.cluster` as JSON text for a plugin with provideClusterInfo: the
// cluster's server, TLS settings, its CA (read from the file or the data field) and the
// `client.authentication.k8s.io/exec` extension as `config`.
// Errors (a non-scalar key in the extension, text that is not UTF-8) say what is wrong with it.
Result<std::string> execClusterInfo(const YAML::Node& cluster, const std::string& ca_pem);

}  // namespace kw::kube
