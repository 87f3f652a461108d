#include "kwctl/scaffold.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace kw::kwctl {
namespace {

constexpr std::string_view kSeverity = "io.kubewarden.policy.severity";
constexpr std::string_view kCategory = "io.kubewarden.policy.category";

void emitStrings(YAML::Emitter& out, const std::vector<std::string>& items) {
  out << YAML::BeginSeq;
  for (const auto& s : items) out << s;
  out << YAML::EndSeq;
}

void emitRules(YAML::Emitter& out, const std::vector<policy::Rule>& rules) {
  out << YAML::BeginSeq;
  for (const auto& r : rules) {
    out << YAML::BeginMap;
    out << YAML::Key << "apiGroups" << YAML::Value;
    emitStrings(out, r.apiGroups);
    out << YAML::Key << "apiVersions" << YAML::Value;
    emitStrings(out, r.apiVersions);
    out << YAML::Key << "resources" << YAML::Value;
    emitStrings(out, r.resources);
    out << YAML::Key << "operations" << YAML::Value;
    emitStrings(out, r.operations);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void emitContextAware(YAML::Emitter& out, const std::set<policy::ContextAwareResource>& res) {
  out << YAML::BeginSeq;
  for (const auto& r : res) {
    out << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << r.apiVersion << YAML::Key
        << "kind" << YAML::Value << r.kind << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

std::optional<std::string> annotation(const policy::Metadata& m, std::string_view key) {
  auto it = m.annotations.find(std::string(key));
  if (it == m.annotations.end()) return std::nullopt;
  return it->second;
}

void emitObjectMeta(YAML::Emitter& out, const policy::Metadata& m,
                    const std::optional<std::string>& name) {
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  auto severity = annotation(m, kSeverity);
  auto category = annotation(m, kCategory);
  if (severity || category) {
    out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    if (category) out << YAML::Key << std::string(kCategory) << YAML::Value << *category;
    if (severity) out << YAML::Key << std::string(kSeverity) << YAML::Value << *severity;
    out << YAML::EndMap;
  }
  if (name) out << YAML::Key << "name" << YAML::Value << *name;
  out << YAML::EndMap;
}

Result<YAML::Node> parseSettings(const std::string& text) {
  try {
    YAML::Node node = YAML::Load(text.empty() ? "{}" : text);
    if (node.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!node.IsMap()) return makeError("the settings must be a YAML or JSON map");
    return node;
  } catch (const YAML::Exception& e) {
    return makeError(fmt::format("cannot parse the settings: {}", e.msg));
  }
}

}  // namespace

Result<std::string> scaffoldManifest(const ManifestRequest& req, const policy::Metadata& metadata,
                                     std::vector<std::string>& warnings) {
  if (req.type != "ClusterAdmissionPolicy" && req.type != "AdmissionPolicy") {
    return makeError(fmt::format(
        "unknown manifest type '{}': use ClusterAdmissionPolicy or AdmissionPolicy", req.type));
  }
  if (auto ok = policy::validate(metadata); !ok) return ok.error();
  auto settings = parseSettings(req.settings_yaml);
  if (!settings) return settings.error();
  std::optional<std::string> name = req.title;
  if (!name) name = annotation(metadata, policy::kAnnotationTitle);

  // Only cluster-wide policies may read cluster resources, and only when granted.
  bool cluster = req.type == "ClusterAdmissionPolicy";
  bool with_context = cluster && !metadata.contextAwareResources.empty();
  if (with_context && req.allow_context_aware) {
    warnings.push_back(
        "Policy has been granted access to the Kubernetes resources mentioned by its metadata.");
    warnings.push_back(
        "Carefully review the contents of the `contextAwareResources` attribute for abuses.");
  } else if (with_context) {
    warnings.push_back(
        "Policy requires access to Kubernetes resources at evaluation time. For safety reasons, "
        "the `contextAwareResources` attribute has been left empty.");
    warnings.push_back(
        "Carefully review which types of Kubernetes resources the policy needs via the `inspect` "
        "command an populate the `contextAwareResources` accordingly.");
    warnings.push_back(
        "Otherwise, invoke the `scaffold` command using the `--allow-context-aware` "
        "flag.");
    with_context = false;
  }

  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "policies.kubewarden.io/v1";
  out << YAML::Key << "kind" << YAML::Value << req.type;
  emitObjectMeta(out, metadata, name);
  out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "module" << YAML::Value << req.uri;
  out << YAML::Key << "settings" << YAML::Value << *settings;
  out << YAML::Key << "rules" << YAML::Value;
  emitRules(out, metadata.rules);
  out << YAML::Key << "mutating" << YAML::Value << metadata.mutating;
  // true is the CRD default; upstream leaves it out then.
  if (!metadata.backgroundAudit) out << YAML::Key << "backgroundAudit" << YAML::Value << false;
  if (with_context) {
    out << YAML::Key << "contextAwareResources" << YAML::Value;
    emitContextAware(out, metadata.contextAwareResources);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string scaffoldVerificationConfig(const std::filesystem::path& default_path) {
  return fmt::format(
      "# Default Kubewarden verification config\n"
      "#\n"
      "# With this config, the only valid policies are those signed by Kubewarden\n"
      "# infrastructure.\n"
      "#\n"
      "# This config can be saved to its default location (for this OS) with:\n"
      "#   kwctl scaffold verification-config > {}\n"
      "#\n"
      "# Providing a config in the default location enables Sigstore verification.\n"
      "# See https://docs.kubewarden.io for more Sigstore verification options.\n"
      "apiVersion: v1\n"
      "allOf:\n"
      "- kind: githubAction\n"
      "  owner: kubewarden\n"
      "  repo: null\n"
      "  annotations: null\n"
      "anyOf: null\n",
      default_path.string());
}

namespace {

std::vector<std::string> splitTrimmed(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

Result<std::string> required(const policy::Metadata& m, std::string_view key) {
  auto v = annotation(m, key);
  if (!v || v->empty()) {
    return makeError(fmt::format("missing the annotation {} in the metadata", key));
  }
  return *v;
}

void emitMaintainers(YAML::Emitter& out, const std::string& authors) {
  out << YAML::BeginSeq;
  for (const auto& author : splitTrimmed(authors, ',')) {
    out << YAML::BeginMap;
    auto lt = author.find('<');
    auto gt = author.find('>');
    std::string name = author.substr(0, lt);
    name.erase(name.find_last_not_of(' ') + 1);
    out << YAML::Key << "name" << YAML::Value << name;
    if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
      out << YAML::Key << "email" << YAML::Value << author.substr(lt + 1, gt - lt - 1);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

std::string resourcesOf(const policy::Metadata& m) {
  std::vector<std::string> seen;
  for (const auto& r : m.rules) {
    for (const auto& res : r.resources) {
      if (std::find(seen.begin(), seen.end(), res) == seen.end()) seen.push_back(res);
    }
  }
  std::string out;
  for (const auto& s : seen) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Result<std::string> scaffoldArtifacthub(const policy::Metadata& m, const std::string& version,
                                        const std::optional<std::string>& questions,
                                        const std::string& created_at) {
  if (!policy::isSemver(version)) {
    return makeError(fmt::format("version '{}' is not a semantic version", version));
  }
  auto title = required(m, policy::kAnnotationTitle);
  if (!title) return title.error();
  auto display = required(m, "io.artifacthub.displayName");
  if (!display) return display.error();
  auto description = required(m, policy::kAnnotationDescription);
  if (!description) return description.error();
  auto oci = required(m, "io.kubewarden.policy.ociUrl");
  if (!oci) return oci.error();

  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << version;
  out << YAML::Key << "name" << YAML::Value << *title;
  out << YAML::Key << "displayName" << YAML::Value << *display;
  out << YAML::Key << "createdAt" << YAML::Value << created_at;
  out << YAML::Key << "description" << YAML::Value << *description;
  if (auto v = annotation(m, policy::kAnnotationLicense)) {
    out << YAML::Key << "license" << YAML::Value << *v;
  }
  auto home = annotation(m, policy::kAnnotationUrl);
  if (home) out << YAML::Key << "homeURL" << YAML::Value << *home;
  out << YAML::Key << "containersImages" << YAML::Value << YAML::BeginSeq << YAML::BeginMap
      << YAML::Key << "name" << YAML::Value << "policy" << YAML::Key << "image" << YAML::Value
      << fmt::format("{}:v{}", *oci, version) << YAML::EndMap << YAML::EndSeq;
  if (auto v = annotation(m, "io.artifacthub.keywords")) {
    out << YAML::Key << "keywords" << YAML::Value;
    emitStrings(out, splitTrimmed(*v, ','));
  }
  out << YAML::Key << "links" << YAML::Value << YAML::BeginSeq;
  if (home) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "policy" << YAML::Key << "url"
        << YAML::Value << fmt::format("{}/releases/download/v{}/policy.wasm", *home, version)
        << YAML::EndMap;
  }
  if (auto v = annotation(m, policy::kAnnotationSource)) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "source" << YAML::Key << "url"
        << YAML::Value << *v << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "install" << YAML::Value << YAML::Literal
      << fmt::format(
             "The policy can be obtained using [`kwctl`](https://github.com/kubewarden/kwctl):\n"
             "```console\nkwctl pull {0}:v{1}\n```\n"
             "Then, generate the policy manifest and tune it to your liking. For example:\n"
             "```console\nkwctl scaffold manifest -t ClusterAdmissionPolicy "
             "registry://{0}:v{1}\n```\n",
             *oci, version);
  if (auto v = annotation(m, policy::kAnnotationAuthor)) {
    out << YAML::Key << "maintainers" << YAML::Value;
    emitMaintainers(out, *v);
  }
  out << YAML::Key << "provider" << YAML::Value << YAML::BeginMap << YAML::Key << "name"
      << YAML::Value << "kubewarden" << YAML::EndMap;
  out << YAML::Key << "recommendations" << YAML::Value << YAML::BeginSeq << YAML::BeginMap
      << YAML::Key << "url" << YAML::Value
      << "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller" << YAML::EndMap
      << YAML::EndSeq;
  out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "kubewarden/mutation" << YAML::Value << YAML::SingleQuoted
      << (m.mutating ? "true" : "false");
  out << YAML::Key << "kubewarden/resources" << YAML::Value << resourcesOf(m);
  out << YAML::Key << "kubewarden/rules" << YAML::Value << YAML::Literal
      << policy::rulesToYaml(m.rules);
  if (!m.contextAwareResources.empty()) {
    YAML::Emitter ctx;
    emitContextAware(ctx, m.contextAwareResources);
    out << YAML::Key << "kubewarden/contextAwareResources" << YAML::Value << YAML::Literal
        << std::string(ctx.c_str()) + "\n";
  }
  if (questions) {
    out << YAML::Key << "kubewarden/questions-ui" << YAML::Value << YAML::Literal << *questions;
  }
  out << YAML::EndMap << YAML::EndMap;
  return "# Kubewarden Artifacthub Package config\n"
         "#\n"
         "# Use this config to submit the policy to https://artifacthub.io.\n"
         "#\n"
         "# This config can be saved to its default location with:\n"
         "#   kwctl scaffold artifacthub > artifacthub-pkg.yml \n" +
         std::string(out.c_str()) + "\n";
}

}  // namespace kw::kwctl
