#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/file_read.h"
#include "kube/kubeconfig_exec.h"

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

// `<field>-data` (base64) wins over `<field>` (a file, relative to the kubeconfig's folder).
Result<std::string> pemFrom(const YAML::Node& node, const std::string& field, const fs::path& base,
                            const std::string& where) {
  if (std::string data = scalarField(node, (field + "-data").c_str()); !data.empty())
    return decodeBase64(data, where + " " + field + "-data");
  std::string file = scalarField(node, field.c_str());
  if (file.empty()) return std::string();
  fs::path p = fs::path(file).is_absolute() ? fs::path(file) : base / file;
  return readText(p, where + " " + field);
}

Status fillCluster(Config& cfg, const YAML::Node& cluster, const fs::path& base,
                   const std::string& where) {
  cfg.server = scalarField(cluster, "server");
  if (cfg.server.empty()) return makeError(where + " has no server");
  while (!cfg.server.empty() && cfg.server.back() == '/') cfg.server.pop_back();
  cfg.insecure_skip_tls_verify =
      cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>(false);
  auto ca = pemFrom(cluster, "certificate-authority", base, where);
  if (!ca) return ca.error();
  cfg.ca_pem = std::move(*ca);
  return okStatus();
}

bool hasStaticCredentials(const Config& cfg) {
  return !cfg.token.empty() || !cfg.token_file.empty() || !cfg.client_cert_pem.empty() ||
         !cfg.username.empty();
}

// An exec block is always checked, as kubectl does, but only used when the user has no static
// credentials: like kubectl, a token, certificate or password in the same user wins.
Status fillExecOrAuthProvider(Config& cfg, const YAML::Node& user, const fs::path& base,
                              const std::string& where) {
  const bool auth_provider = static_cast<bool>(user["auth-provider"]);
  if (user["exec"] && auth_provider)
    return makeError(where + " sets both exec and auth-provider, which cannot be combined");
  if (auth_provider && !hasStaticCredentials(cfg)) {
    std::string name = scalarField(user["auth-provider"], "name");
    return makeError(where + " uses the auth-provider \"" + name +
                     "\", which kubectl removed in 1.26 and is not supported; use an exec "
                     "credential plugin instead (kubelogin, gke-gcloud-auth-plugin...)");
  }
  if (!user["exec"]) return okStatus();
  auto exec = parseExecBlock(user["exec"], base, where);
  if (!exec) return exec.error();
  if (!hasStaticCredentials(cfg)) cfg.exec = std::move(*exec);
  return okStatus();
}

Status fillUser(Config& cfg, const YAML::Node& user, const fs::path& base,
                const std::string& where) {
  if (!user) return okStatus();  // anonymous access is valid
  cfg.token = scalarField(user, "token");
  if (std::string file = scalarField(user, "tokenFile"); !file.empty()) {
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
  cfg.username = scalarField(user, "username");
  cfg.password = scalarField(user, "password");
  return fillExecOrAuthProvider(cfg, user, base, where);
}

// $KUBECONFIG's entries in order, empty ones and repeats dropped (kubectl reads each file once).
std::vector<fs::path> kubeconfigEnvList() {
  std::vector<fs::path> files;
  const char* env = std::getenv("KUBECONFIG");
  std::string_view list = env ? env : "";
  while (!list.empty()) {
    size_t colon = list.find(':');
    std::string entry(list.substr(0, colon));
    list = colon == std::string_view::npos ? std::string_view() : list.substr(colon + 1);
    if (!entry.empty() && std::find(files.begin(), files.end(), fs::path(entry)) == files.end())
      files.emplace_back(entry);
  }
  return files;
}

fs::path homeKubeconfig() {
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "") / ".kube" / "config";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string joined(const std::vector<fs::path>& files) {
  std::string out;
  for (const auto& f : files) out += (out.empty() ? "" : ":") + f.string();
  return out;
}

// A named cluster, user or context with the folder of the file that defined it, against which
// its relative paths resolve.
struct Entry {
  YAML::Node item;  // the list element: {name, cluster|user|context}
  fs::path base;
};

// The union of several kubeconfig files, the first definition of each name winning.
struct Merged {
  std::string files;  // for messages
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
};

void mergeList(std::map<std::string, Entry>& into, const YAML::Node& list, const fs::path& base) {
  if (!list || !list.IsSequence()) return;
  for (const auto& item : list)
    if (item.IsMap() && item["name"] && item["name"].IsScalar())
      into.emplace(item["name"].as<std::string>(), Entry{item, base});
}

Status mergeFile(Merged& merged, const fs::path& file) {
  auto text = readText(file, "kubeconfig");
  if (!text) return text.error();
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) return okStatus();  // an empty file adds nothing, as with kubectl
    fs::path base = file.parent_path();
    mergeList(merged.clusters, root["clusters"], base);
    mergeList(merged.users, root["users"], base);
    mergeList(merged.contexts, root["contexts"], base);
    if (merged.current_context.empty()) merged.current_context = scalarField(root, "current-context");
    return okStatus();
  } catch (const YAML::Exception& e) {
    return makeError("kubeconfig " + file.string() + " is not valid YAML: " + e.what());
  }
}

// The entry's inner node (`cluster`, `user` or `context`), undefined when absent.
YAML::Node inner(const std::map<std::string, Entry>& entries, const std::string& name,
                 const char* key, fs::path* base = nullptr) {
  auto it = entries.find(name);
  if (it == entries.end()) return YAML::Node(YAML::NodeType::Undefined);
  if (base) *base = it->second.base;
  return it->second.item[key];
}

Result<Config> resolve(const Merged& merged) {
  const std::string& files = merged.files;
  const std::string& context_name = merged.current_context;
  if (context_name.empty()) return makeError("kubeconfig " + files + " has no current-context");
  YAML::Node context = inner(merged.contexts, context_name, "context");
  if (!context)
    return makeError("kubeconfig " + files + ": context \"" + context_name + "\" not found");
  std::string cluster_name = scalarField(context, "cluster");
  fs::path cluster_base, user_base;
  YAML::Node cluster = inner(merged.clusters, cluster_name, "cluster", &cluster_base);
  if (!cluster)
    return makeError("kubeconfig " + files + ": cluster \"" + cluster_name + "\" not found");
  Config cfg;
  cfg.origin = "kubeconfig " + files + " (context " + context_name + ")";
  if (auto s = fillCluster(cfg, cluster, cluster_base, cfg.origin + " cluster " + cluster_name); !s)
    return s.error();
  std::string user_name = scalarField(context, "user");
  YAML::Node user = inner(merged.users, user_name, "user", &user_base);
  if (!user_name.empty() && !user)
    return makeError("kubeconfig " + files + ": user \"" + user_name + "\" not found");
  if (auto s = fillUser(cfg, user, user_base, cfg.origin + " user " + user_name); !s)
    return s.error();
  cfg.token = trimmed(cfg.token);
  if (cfg.exec) {
    cfg.exec->user = user_name;
    if (user["exec"]["provideClusterInfo"] && user["exec"]["provideClusterInfo"].as<bool>(false)) {
      auto info = execClusterInfo(cluster, cfg.ca_pem);
      if (!info)
        return makeError(cfg.origin + " cluster " + cluster_name +
                         ", given to the exec plugin: " + info.error().message);
      cfg.exec->cluster_info_json = std::move(*info);
    }
  }
  return cfg;
}

Result<Config> loadFiles(const std::vector<fs::path>& files) {
  Merged merged;
  merged.files = joined(files);
  try {
    for (const auto& file : files)
      if (auto s = mergeFile(merged, file); !s) return s.error();
    return resolve(merged);
  } catch (const YAML::Exception& e) {
    return makeError("kubeconfig " + merged.files + " is not valid: " + e.what());
  }
}

}  // namespace

Result<Config> loadKubeconfig(std::optional<fs::path> path) {
  if (path) return loadFiles({*path});
  std::vector<fs::path> listed = kubeconfigEnvList();
  if (listed.empty()) return loadFiles({homeKubeconfig()});
  std::vector<fs::path> present;
  std::error_code ec;
  for (const auto& file : listed)
    if (fs::exists(file, ec)) present.push_back(file);
  if (present.empty())
    return makeError("none of the kubeconfig files in KUBECONFIG exists: " + joined(listed));
  return loadFiles(present);
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
  if (!kubeconfigEnvList().empty()) return loadKubeconfig();
  fs::path home = homeKubeconfig();
  std::error_code ec;
  if (fs::exists(home, ec)) return loadKubeconfig();
  auto in_cluster = loadInCluster();
  if (!in_cluster)
    return makeError("no kubeconfig at " + home.string() + ", and " + in_cluster.error().message);
  return in_cluster;
}

}  // namespace kw::kube
