#include "kwctl/policy_loader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "common/file_read.h"
#include "common/yaml_json.h"
#include "store/store.h"
#include "wasm/binary/module_binary.h"

namespace kw::kwctl {
namespace {

using admission::Json;

Result<Json> parseSettings(const RunFlags& f) {
  if (!f.settings_json.empty() && !f.settings_path.empty()) {
    return makeError("--settings-path and --settings-json cannot be used together");
  }
  Json settings = Json::object();
  if (!f.settings_json.empty()) {
    settings = Json::parse(f.settings_json, nullptr, false);
    if (settings.is_discarded()) return makeError("--settings-json is not valid JSON");
  } else if (!f.settings_path.empty()) {
    auto text = readInput(f.settings_path);
    if (!text) return text.error();
    try {
      settings = yamlToJson(YAML::Load(*text));  // YAML is a superset of JSON
    } catch (const YAML::Exception& e) {
      return makeError(fmt::format("cannot parse settings file {}: {}", f.settings_path, e.what()));
    }
  }
  if (settings.is_null()) settings = Json::object();
  if (!settings.is_object()) return makeError("settings must be a JSON object");
  return settings;
}

Result<policy::ExecutionMode> chooseMode(const RunFlags& f, const policy::PolicyModule& m) {
  if (m.metadata) return m.metadata->executionMode;
  if (!f.execution_mode.empty()) {
    std::string name = f.execution_mode == "kubewarden" ? "kubewarden-wapc" : f.execution_mode;
    auto mode = policy::executionModeFromString(name);
    if (!mode) return makeError(fmt::format("unknown execution mode `{}`", f.execution_mode));
    return *mode;
  }
  for (const auto& im : m.compiled->imports()) {
    if (im.name.starts_with("opa_")) {
      return makeError(
          "this looks like a Rego policy (it imports opa_* functions): pass -e opa or "
          "-e gatekeeper");
    }
  }
  return policy::ExecutionMode::KubewardenWapc;
}

}  // namespace

std::string localPath(const std::string& uri) {
  return uri.starts_with("file://") ? uri.substr(7) : uri;
}

Result<std::string> readInput(const std::string& path, uint64_t max_bytes) {
  if (path == "-") return readStdinBounded("standard input", max_bytes);
  return readFileBounded(localPath(path), max_bytes);
}

std::filesystem::path codeCacheDir() {
  return store::Store::defaultRoot().parent_path() / "code-cache";
}

void addRunFlags(CLI::App& cmd, RunFlags& f) {
  cmd.add_option("uri_or_sha_prefix", f.uri,
                 "Policy: a local path, file://, registry:// or https:// URI, or the SHA prefix "
                 "of a policy in the store")
      ->required();
  cmd.add_option("-r,--request-path", f.request_path,
                 "AdmissionReview or AdmissionRequest JSON file ('-' for stdin)")
      ->required();
  cmd.add_option("--settings-json", f.settings_json, "Policy settings as a JSON string");
  cmd.add_option("-s,--settings-path", f.settings_path, "Policy settings file (YAML or JSON)");
  cmd.add_option("-e,--execution-mode", f.execution_mode,
                 "opa, gatekeeper, kubewarden or wasi (when the policy has no metadata)");
  cmd.add_flag("--raw", f.raw, "Validate a raw request instead of an AdmissionRequest");
  cmd.add_option("--timeout", f.timeout_seconds, "Evaluation deadline in seconds (0: none)");
  cmd.add_option("--memory-limit-mib", f.memory_limit_mib,
                 "Maximum linear memory of the policy, in MiB");
  cmd.add_option("--engine", f.engine,
                 fmt::format("WebAssembly engine: {} (default {})",
                             fmt::join(wasm::engineNames(), " or "), f.engine))
      ->envname("KUBEWARDEN_ENGINE");
  cmd.add_flag("--disable-wasmtime-cache", f.disable_code_cache,
               "Compile the policy without reading or writing the on-disk code cache");
  addRemoteFlags(cmd, f.remote);
  addVerificationFlags(cmd, f.verification);
  addHostFlags(cmd, f.host);
}

// Remote URIs are pulled into the store, store URIs and SHA prefixes resolved; a plain path
// that does not exist keeps the historic "cannot read" message.
static Result<std::string> readPolicyModule(const RunFlags& f) {
  if (auto ok = requireVerifiable(f.uri, f.verification); !ok) return ok.error();
  std::error_code ec;
  if (!isRemote(f.uri) && std::filesystem::exists(localPath(f.uri), ec)) {
    return readModuleFile(localPath(f.uri));
  }
  auto path = policyPath(f.uri, f.remote, f.verification);
  if (!path) return path.error();
  return readModuleFile(*path);
}

Result<std::unique_ptr<Prepared>> prepare(const RunFlags& f, wasm::CompileTier tier) {
  auto p = std::make_unique<Prepared>();
  auto wasm = readPolicyModule(f);
  if (!wasm) return wasm.error();
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(wasm->data()), wasm->size());
  if (!wasm::binary::isWasm(bytes)) {
    return makeError(fmt::format("{} is not a WebAssembly module", f.uri));
  }
  auto settings = parseSettings(f);
  if (!settings) return settings.error();
  auto request_text = readInput(f.request_path);
  if (!request_text) return request_text.error();
  Json request = Json::parse(*request_text, nullptr, false);
  if (request.is_discarded()) {
    return makeError(fmt::format("{} is not valid JSON", f.request_path));
  }

  wasm::EngineOptions options;
  options.max_memory_bytes = f.memory_limit_mib << 20;
  options.tier = tier;
  // Compiled code is kept beside the store, so the second run of a policy skips compiling it.
  // Upstream's --disable-wasmtime-cache turns that off (the V8 engine has no code cache).
  if (!f.disable_code_cache) {
    options.code_cache_dir = codeCacheDir().string();
  }
  auto engine = wasm::createEngine(f.engine, options);
  if (!engine) return engine.error();
  p->engine = *engine;
  auto module = policy::loadModule(*p->engine, bytes);
  if (!module) return module.error();
  auto mode = chooseMode(f, **module);
  if (!mode) return mode.error();

  const auto& md = (*module)->metadata;
  p->config.module = *module;
  p->config.mode = *mode;
  p->config.raw = f.raw || (md && md->policyType == policy::PolicyType::Raw);
  p->config.settings_json = settings->dump();
  p->config.id = f.uri;
  if (md) {
    auto title = md->annotations.find(std::string(policy::kAnnotationTitle));
    if (title != md->annotations.end()) p->config.id = title->second;
  }

  // An AdmissionReview is unwrapped to its request, as upstream.
  auto kind = request.is_object() ? request.find("kind") : request.end();
  if (!p->config.raw && kind != request.end() && *kind == "AdmissionReview") {
    request = request.value("request", Json());
  }
  if (!p->config.raw && !request.is_object()) {
    return makeError(fmt::format("{} holds no AdmissionRequest object", f.request_path));
  }
  if (request.is_object() && request.contains("uid") && request["uid"].is_string()) {
    p->uid = request["uid"].get<std::string>();
  }
  p->request_json = request.dump();
  p->request = std::move(request);

  auto registry = clientOptions(f.remote);
  if (!registry) return registry.error();
  auto host = buildKwctlHost(f.host, p->config.id, md, std::move(*registry));
  if (!host) return host.error();
  p->host = std::move(*host);
  std::optional<std::chrono::nanoseconds> timeout;
  if (f.timeout_seconds > 0) {
    timeout = std::chrono::nanoseconds(int64_t(f.timeout_seconds * 1e9));
  }
  p->evaluator = std::make_unique<policy::Evaluator>(p->engine, p->host->dispatcher(), timeout);
  return p;
}

}  // namespace kw::kwctl
