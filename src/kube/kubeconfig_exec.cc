#include "kube/kubeconfig_exec.h"

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/yaml_json.h"

namespace kw::kube {
namespace fs = std::filesystem;
namespace {

constexpr const char* kExecV1alpha1 = "client.authentication.k8s.io/v1alpha1";
constexpr const char* kExecExtension = "client.authentication.k8s.io/exec";

Status checkApiVersion(const std::string& version, const std::string& where) {
  if (version == kExecV1 || version == kExecV1beta1) return okStatus();
  std::string supported = std::string(kExecV1) + " or " + kExecV1beta1;
  if (version.empty()) return makeError(where + ": exec needs an apiVersion (" + supported + ")");
  if (version == kExecV1alpha1)
    return makeError(where + ": exec apiVersion " + version +
                     " is no longer supported (kubectl dropped it in 1.24); use " + supported);
  return makeError(where + ": exec apiVersion \"" + version + "\" is not supported; use " +
                   supported);
}

// v1beta1 defaults to IfAvailable; v1 makes the field mandatory, as kubectl does.
Result<std::string> interactiveMode(const YAML::Node& exec, const std::string& version,
                                    const std::string& where) {
  std::string mode = scalarField(exec, "interactiveMode");
  if (mode.empty() && version == kExecV1beta1) return std::string("IfAvailable");
  if (mode.empty())
    return makeError(where + ": exec interactiveMode must be set with " + version +
                     " (Never or IfAvailable)");
  if (mode == "Always")
    return makeError(where +
                     ": exec interactiveMode Always needs a terminal for the plugin, which "
                     "kubewarden never has; use IfAvailable or Never");
  if (mode != "Never" && mode != "IfAvailable")
    return makeError(where + ": exec interactiveMode \"" + mode +
                     "\" is not one of Never, IfAvailable, Always");
  return mode;
}

Status readArgsAndEnv(ExecConfig& e, const YAML::Node& exec, const std::string& where) {
  if (const YAML::Node& args = exec["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) return makeError(where + ": exec args must be a list of strings");
    for (const auto& arg : args) {
      if (!arg.IsScalar()) return makeError(where + ": exec args must be a list of strings");
      e.args.push_back(arg.as<std::string>());
    }
  }
  if (const YAML::Node& env = exec["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) return makeError(where + ": exec env must be a list of {name, value}");
    for (const auto& var : env) {
      std::string name = var.IsMap() ? scalarField(var, "name") : "";
      if (name.empty()) return makeError(where + ": an exec env entry has no name");
      e.env.emplace_back(name, scalarField(var, "value"));
    }
  }
  return okStatus();
}

}  // namespace

std::string scalarField(const YAML::Node& node, const char* key) {
  return node && node[key] && node[key].IsScalar() ? node[key].as<std::string>() : "";
}

Result<ExecConfig> parseExecBlock(const YAML::Node& exec, const fs::path& base,
                                  const std::string& where) {
  if (!exec.IsMap()) return makeError(where + ": exec must be a mapping");
  ExecConfig e;
  e.api_version = scalarField(exec, "apiVersion");
  if (auto s = checkApiVersion(e.api_version, where); !s) return s.error();
  e.command = scalarField(exec, "command");
  if (e.command.empty()) return makeError(where + ": exec needs a command");
  // As kubectl: a bare name is looked up in PATH, a relative path is the kubeconfig's.
  if (e.command.find('/') != std::string::npos && fs::path(e.command).is_relative())
    e.command = (base / e.command).lexically_normal().string();
  if (auto s = readArgsAndEnv(e, exec, where); !s) return s.error();
  e.install_hint = scalarField(exec, "installHint");
  auto mode = interactiveMode(exec, e.api_version, where);
  if (!mode) return mode.error();
  e.interactive_mode = *mode;
  return e;
}

Result<std::string> execClusterInfo(const YAML::Node& cluster, const std::string& ca_pem) {
  nlohmann::json info = {{"server", scalarField(cluster, "server")}};
  if (std::string name = scalarField(cluster, "tls-server-name"); !name.empty())
    info["tls-server-name"] = name;
  if (cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>(false))
    info["insecure-skip-tls-verify"] = true;
  if (!ca_pem.empty()) info["certificate-authority-data"] = base64Encode(ca_pem);
  if (std::string proxy = scalarField(cluster, "proxy-url"); !proxy.empty()) info["proxy-url"] = proxy;
  if (cluster["disable-compression"] && cluster["disable-compression"].as<bool>(false))
    info["disable-compression"] = true;
  if (const YAML::Node& extensions = cluster["extensions"]; extensions && extensions.IsSequence())
    for (const auto& ext : extensions)
      if (ext.IsMap() && scalarField(ext, "name") == kExecExtension && ext["extension"]) {
        auto config = yamlToJson(ext["extension"], {});
        if (!config) return makeError("its exec extension: " + config.error().message);
        info["config"] = std::move(*config);
      }
  // JSON text must be UTF-8; yaml-cpp hands over the kubeconfig's bytes as they are.
  try {
    return info.dump();
  } catch (const nlohmann::json::exception&) {
    return makeError("it is not valid UTF-8");
  }
}

}  // namespace kw::kube
