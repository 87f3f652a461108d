#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/file_read.h"

namespace kw::kube {
namespace fs = std::filesystem;
namespace {

Result<std::string> readText(const fs::path& path, std::string_view what) {
  auto text = readFileBounded(path);
  if (!text) return makeError(std::string(what) + ": " + text.error().message);
  return text;
}

// The error names the kubeconfig field, which helps more than the offending character.
Result<std::string> decodeBase64(std::string_view in, std::string_view field) {
  auto out = base64Decode(in);
  if (!out.ok()) return makeError(std::string(field) + " is not valid base64");
  return out;
}

// Finds `name` in a kubeconfig list such as `clusters: [{name, cluster: {...}}]`.
YAML::Node findNamed(const YAML::Node& list, const std::string& name, const char* inner) {
  if (list && list.IsSequence())
    for (const auto& item : list)
      if (item["name"] && item["name"].as<std::string>() == name) return item[inner];
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string str(const YAML::Node& node, const char* key) {
  return node && node[key] && node[key].IsScalar() ? node[key].as<std::string>() : "";
}

// `<field>-data` (base64) wins over `<field>` (a file, relative to the kubeconfig's folder).
Result<std::string> pemFrom(const YAML::Node& node, const std::string& field, const fs::path& base,
                            const std::string& where) {
  if (std::string data = str(node, (field + "-data").c_str()); !data.empty())
    return decodeBase64(data, where + " " + field + "-data");
  std::string file = str(node, field.c_str());
  if (file.empty()) return std::string();
  fs::path p = fs::path(file).is_absolute() ? fs::path(file) : base / file;
  return readText(p, where + " " + field);
}

Status fillCluster(Config& cfg, const YAML::Node& cluster, const fs::path& base,
                   const std::string& where) {
  cfg.server = str(cluster, "server");
  if (cfg.server.empty()) return makeError(where + " has no server");
  while (!cfg.server.empty() && cfg.server.back() == '/') cfg.server.pop_back();
  cfg.insecure_skip_tls_verify =
      cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>(false);
  auto ca = pemFrom(cluster, "certificate-authority", base, where);
  if (!ca) return ca.error();
  cfg.ca_pem = std::move(*ca);
  return okStatus();
}

Status fillUser(Config& cfg, const YAML::Node& user, const fs::path& base,
                const std::string& where) {
  if (!user) return okStatus();  // anonymous access is valid
  cfg.token = str(user, "token");
  if (std::string file = str(user, "tokenFile"); !file.empty()) {
    cfg.token_file = fs::path(file).is_absolute() ? file : (base / file).string();
    auto token = readText(cfg.token_file, where + " tokenFile");
    if (!token) return token.error();
    if (cfg.token.empty()) cfg.token = *token;
  }
  auto cert = pemFrom(user, "client-certificate", base, where);
  if (!cert) return cert.error();
  auto key = pemFrom(user, "client-key", base, where);
  if (!key) return key.error();
  if (cert->empty() != key->empty())
    return makeError(where + " needs both client-certificate and client-key");
  cfg.client_cert_pem = std::move(*cert);
  cfg.client_key_pem = std::move(*key);
  cfg.username = str(user, "username");
  cfg.password = str(user, "password");
  if (user["exec"] || user["auth-provider"])
    if (cfg.token.empty() && cfg.client_cert_pem.empty() && cfg.username.empty())
      return makeError(where + " uses exec/auth-provider credentials, which are not supported");
  return okStatus();
}

fs::path defaultKubeconfigPath() {
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string list = env;
    return list.substr(0, list.find(':'));
  }
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "") / ".kube" / "config";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<Config> loadKubeconfig(std::optional<fs::path> path) {
  fs::path file = path ? *path : defaultKubeconfigPath();
  auto text = readText(file, "kubeconfig");
  if (!text) return text.error();
  try {
    YAML::Node root = YAML::Load(*text);
    std::string context_name = str(root, "current-context");
    if (context_name.empty())
      return makeError("kubeconfig " + file.string() + " has no current-context");
    YAML::Node context = findNamed(root["contexts"], context_name, "context");
    if (!context)
      return makeError("kubeconfig " + file.string() + ": context \"" + context_name +
                       "\" not found");
    std::string cluster_name = str(context, "cluster");
    YAML::Node cluster = findNamed(root["clusters"], cluster_name, "cluster");
    if (!cluster)
      return makeError("kubeconfig " + file.string() + ": cluster \"" + cluster_name +
                       "\" not found");
    Config cfg;
    cfg.origin = "kubeconfig " + file.string() + " (context " + context_name + ")";
    fs::path base = file.parent_path();
    if (auto s = fillCluster(cfg, cluster, base, cfg.origin + " cluster " + cluster_name); !s)
      return s.error();
    std::string user_name = str(context, "user");
    YAML::Node user = findNamed(root["users"], user_name, "user");
    if (!user_name.empty() && !user)
      return makeError("kubeconfig " + file.string() + ": user \"" + user_name + "\" not found");
    if (auto s = fillUser(cfg, user, base, cfg.origin + " user " + user_name); !s) return s.error();
    cfg.token = trimmed(cfg.token);
    return cfg;
  } catch (const YAML::Exception& e) {
    return makeError("kubeconfig " + file.string() + " is not valid YAML: " + e.what());
  }
}

Result<Config> loadInCluster(const fs::path& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return makeError(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  Config cfg;
  cfg.origin = "in-cluster";
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 service address
  cfg.server = "https://" + h + ":" + port;
  cfg.token_file = (sa_dir / "token").string();
  auto token = readText(cfg.token_file, "in-cluster service-account token");
  if (!token) return token.error();
  cfg.token = trimmed(*token);
  auto ca = readText(sa_dir / "ca.crt", "in-cluster CA");
  if (!ca) return ca.error();
  cfg.ca_pem = std::move(*ca);
  return cfg;
}

Result<Config> inferConfig() {
  fs::path file = defaultKubeconfigPath();
  std::error_code ec;
  if (fs::exists(file, ec) || std::getenv("KUBECONFIG")) return loadKubeconfig(file);
  auto in_cluster = loadInCluster();
  if (!in_cluster)
    return makeError("no kubeconfig at " + file.string() + ", and " + in_cluster.error().message);
  return in_cluster;
}

}  // namespace kw::kube
