#include "server/policies_file.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <regex>
#include <set>

#include "common/yaml_json.h"
#include "fetch/fetcher.h"
#include "sigstore/constraints.h"
#include "sigstore/verification_config.h"
#include "sigstore/verifier.h"

namespace kw::server {

using admission::Json;

namespace {

// Errors about one field of one policy, named the same way everywhere.
class PolicyErrors {
 public:
  PolicyErrors(std::string_view source, std::string_view id) : source_(source), id_(id) {}
  Error field(std::string_view name, std::string_view problem) const {
    return makeError(
        fmt::format("{}: policy \"{}\": field \"{}\": {}", source_, id_, name, problem));
  }
  Error policy(std::string_view problem) const {
    return makeError(fmt::format("{}: policy \"{}\": {}", source_, id_, problem));
  }
  void warn(std::string_view problem) const {
    spdlog::warn("{}: policy \"{}\": {}", source_, id_, problem);
  }

 private:
  std::string_view source_;
  std::string_view id_;
};

Result<std::string> requiredUrl(const Json& p, const PolicyErrors& err) {
  auto it = p.find("url");
  if (it == p.end() || it->is_null())
    return err.field("url", "missing (the module URL is required)");
  if (!it->is_string()) return err.field("url", "expected a string");
  if (it->get_ref<const std::string&>().empty()) return err.field("url", "must not be empty");
  return it->get<std::string>();
}

Result<PolicyMode> policyMode(const Json& p, const PolicyErrors& err) {
  auto it = p.find("policyMode");
  if (it == p.end() || it->is_null()) return PolicyMode::Protect;
  if (*it == "protect") return PolicyMode::Protect;
  if (*it == "monitor") return PolicyMode::Monitor;
  return err.field("policyMode", "expected protect or monitor");
}

Result<bool> allowedToMutate(const Json& p, const PolicyErrors& err) {
  auto it = p.find("allowedToMutate");
  if (it == p.end() || it->is_null()) return false;
  if (!it->is_boolean()) return err.field("allowedToMutate", "expected true or false");
  return it->get<bool>();
}

Result<Json> settings(const Json& p, const PolicyErrors& err) {
  auto it = p.find("settings");
  if (it == p.end() || it->is_null()) return Json::object();
  if (!it->is_object()) return err.field("settings", "expected a map");
  return *it;
}

Result<std::set<policy::ContextAwareResource>> contextAwareResources(const Json& p,
                                                                     const PolicyErrors& err) {
  std::set<policy::ContextAwareResource> out;
  auto it = p.find("contextAwareResources");
  if (it == p.end() || it->is_null()) return out;
  if (!it->is_array()) return err.field("contextAwareResources", "expected a list");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& r = (*it)[i];
    std::string at = fmt::format("contextAwareResources[{}]", i);
    if (!r.is_object()) return err.field(at, "expected a map with apiVersion and kind");
    policy::ContextAwareResource resource;
    for (auto [key, target] :
         {std::pair{"apiVersion", &resource.apiVersion}, std::pair{"kind", &resource.kind}}) {
      auto v = r.find(key);
      if (v == r.end() || v->is_null()) return err.field(at + "." + key, "missing");
      if (!v->is_string()) return err.field(at + "." + key, "expected a string");
      *target = v->get<std::string>();
    }
    out.insert(std::move(resource));
  }
  return out;
}

// Upstream ignores unknown fields, and so do we; but a typo such as `setting:` would silently
// drop a policy's settings, so each one is named in a warning. The controller's namespacedName
// is known, though unused here.
void warnUnknownFields(const Json& p, const PolicyErrors& err) {
  static const std::set<std::string, std::less<>> known = {
      "url",           "policyMode", "allowedToMutate", "settings", "contextAwareResources",
      "namespacedName"};
  for (const auto& [key, value] : p.items()) {
    if (!known.contains(key)) {
      err.warn(
          fmt::format("unknown field \"{}\" is ignored (known fields: url, policyMode, "
                      "allowedToMutate, settings, contextAwareResources)",
                      key));
    }
  }
}

Result<PolicyEntry> parseEntry(const Json& p, const PolicyErrors& err) {
  if (!p.is_object()) return err.policy("expected a map with at least the field \"url\"");
  warnUnknownFields(p, err);
  PolicyEntry e;
  auto url = requiredUrl(p, err);
  if (!url) return url.error();
  auto mode = policyMode(p, err);
  if (!mode) return mode.error();
  auto mutate = allowedToMutate(p, err);
  if (!mutate) return mutate.error();
  auto s = settings(p, err);
  if (!s) return s.error();
  auto resources = contextAwareResources(p, err);
  if (!resources) return resources.error();
  e.url = std::move(*url);
  e.mode = *mode;
  e.allowed_to_mutate = *mutate;
  e.settings = std::move(*s);
  e.context_aware_resources = std::move(*resources);
  return e;
}

}  // namespace

std::string_view toString(PolicyMode mode) {
  return mode == PolicyMode::Monitor ? "monitor" : "protect";
}

Result<PolicyMap> parsePolicies(std::string_view text, std::string_view source) {
  auto doc = loadYaml(text, source);
  if (!doc) return doc.error();
  PolicyMap out;
  if (doc->IsNull()) return out;
  if (!doc->IsMap())
    return makeError(fmt::format("{}: expected a map of policy id to policy", source));
  for (const auto& kv : *doc) {
    if (!kv.first.IsScalar())
      return makeError(fmt::format("{}: policy ids must be strings", source));
    const std::string& id = kv.first.Scalar();
    PolicyErrors err(source, id);
    if (out.contains(id)) return err.policy("duplicate policy id");
    // YAML that JSON cannot hold (a map or list as a key) is an error, not an exception.
    auto json = yamlToJson(kv.second, {});
    if (!json) return err.policy(json.error().message);
    auto entry = parseEntry(*json, err);
    if (!entry) return entry.error();
    out.emplace(id, std::move(*entry));
  }
  return out;
}

Result<PolicyMap> readPoliciesFile(const std::filesystem::path& path) {
  auto text = readTextFile(path);
  if (!text) return text.error();
  return parsePolicies(*text, path.string());
}

namespace {

// Verifies a registry:// policy and names the verified manifest, so the download cannot pick up
// a tag that moved after the check.
Result<std::string> verifiedUrl(const std::string& url, const oci::ClientOptions& options,
                                const sigstore::VerificationConfig& config) {
  // Only an OCI artifact has signatures to check; anything else would run unverified.
  if (!url.starts_with("registry://")) {
    return makeError(fmt::format(
        "verification failed: Verification only works with OCI images: {} is not a registry:// "
        "reference",
        url));
  }
  oci::RegistryClient registry(options);
  sigstore::Verifier verifier(registry, sigstore::TrustRoot{});
  auto digest = verifier.verifyConfig(url.substr(std::string_view("registry://").size()), config);
  if (!digest) return makeError(fmt::format("verification failed: {}", digest.error().message));
  auto ref = oci::parseReference(url);
  if (!ref) return ref.error();
  return fmt::format("registry://{}/{}@{}", ref->registry, ref->repository, *digest);
}

// A module written without a scheme (e.g. ghcr.io/kubewarden/policies/pod-privileged:v0.3.1, as
// the kubewarden-defaults chart writes them) is a registry reference, as upstream reads it; a
// plain path naming a file on disk stays a path.
std::string withScheme(const std::string& url) {
  std::error_code ec;
  if (url.find("://") != std::string::npos || std::filesystem::exists(url, ec)) return url;
  return "registry://" + url;
}

}  // namespace

Result<Fetcher> makePolicyFetcher(const std::filesystem::path& download_dir,
                                  const std::optional<std::string>& sources_path,
                                  const std::optional<std::string>& docker_config_dir,
                                  const std::optional<std::string>& verification_path) {
  oci::ClientOptions options;
  if (sources_path) {
    auto sources = readSourcesFile(*sources_path);
    if (!sources) return sources.error();
    options.sources = std::move(*sources);
  }
  if (docker_config_dir) options.docker_config_dir = *docker_config_dir;
  std::shared_ptr<const sigstore::VerificationConfig> verification;
  if (verification_path) {
    auto config = sigstore::readVerificationConfig(*verification_path);
    if (!config) return config.error();
    verification = std::make_shared<const sigstore::VerificationConfig>(std::move(*config));
  }
  // One fetch::Fetcher (and registry connection) per call: calls run on several threads.
  return Fetcher([options, download_dir,
                  verification](const std::string& written) -> Result<std::filesystem::path> {
    fetch::Fetcher fetcher(options, store::Store(download_dir));
    std::filesystem::path output;
    const std::string url = withScheme(written);
    std::string source = url;
    if (verification) {
      auto verified = verifiedUrl(url, options, *verification);
      if (!verified) return verified.error();
      source = std::move(*verified);
      // Stored under the URL the user wrote, as an unverified download would be.
      if (source != url) {
        auto path = fetcher.store().pathFor(url);
        if (!path) return path.error();
        output = *path;
      }
    }
    auto fetched = fetcher.fetch(source, output);
    if (!fetched) return fetched.error();
    return fetched->path;
  });
}

}  // namespace kw::server
