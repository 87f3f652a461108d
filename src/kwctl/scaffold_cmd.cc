// kwctl scaffold manifest | verification-config | artifacthub.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "common/file_read.h"
#include "kwctl/commands.h"
#include "kwctl/remote.h"
#include "kwctl/scaffold.h"

namespace kw::kwctl {
namespace {
namespace fs = std::filesystem;

Result<std::string> readText(const std::string& path, std::string_view what) {
  auto text = readModuleFile(path);
  if (!text) return makeError(fmt::format("{}: {}", what, text.error().message));
  return text;
}

Result<policy::Metadata> metadataOfModule(const fs::path& path, const std::string& uri) {
  auto bytes = readText(path.string(), "policy");
  if (!bytes) return bytes.error();
  auto md = policy::readMetadata(
      std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
  if (!md) return makeError(fmt::format("{}: {}", uri, md.error().message));
  if (!md->has_value()) {
    return makeError(
        fmt::format("No Kubewarden metadata found inside of '{}'. Policies can be "
                    "annotated with the `kwctl annotate` command.",
                    uri));
  }
  return **md;
}

struct ManifestFlags {
  ManifestRequest request;
  std::string settings_path;
  std::string settings_json;
  std::string title;
  RemoteFlags remote;
};

int manifest(ManifestFlags& f) {
  if (!f.settings_path.empty() && !f.settings_json.empty()) {
    return fail("'settings-path' and 'settings-json' cannot be used at the same time");
  }
  if (!f.settings_path.empty()) {
    auto text = readText(f.settings_path, "settings file");
    if (!text) return fail(text.error().message);
    f.request.settings_yaml = *text;
  } else if (!f.settings_json.empty()) {
    f.request.settings_yaml = f.settings_json;
  }
  if (!f.title.empty()) f.request.title = f.title;
  auto path = policyPath(f.request.uri, f.remote);
  if (!path) return fail(path.error().message);
  auto md = metadataOfModule(*path, f.request.uri);
  if (!md) return fail(md.error().message);
  std::vector<std::string> warnings;
  auto yaml = scaffoldManifest(f.request, *md, warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!yaml) return fail(yaml.error().message);
  std::cout << *yaml;
  return 0;
}

struct ArtifacthubFlags {
  std::string metadata_path;
  std::string version;
  std::string questions_path;
  std::string output;
};

std::string nowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::floor<std::chrono::seconds>(now);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09}Z", buf, nanos);
}

Status writeAtomically(const fs::path& path, const std::string& text) {
  fs::path tmp = path.string() + ".tmp-kwctl";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out.good()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return makeError(fmt::format("cannot write {}", path.string()));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return makeError(fmt::format("cannot write {}", path.string()));
  }
  return okStatus();
}

int artifacthub(const ArtifacthubFlags& f) {
  auto text = readText(f.metadata_path, "metadata file");
  if (!text) return fail(text.error().message);
  auto md = policy::metadataFromYaml(*text);
  if (!md) return fail(fmt::format("{}: {}", f.metadata_path, md.error().message));
  std::optional<std::string> questions;
  if (!f.questions_path.empty()) {
    auto q = readText(f.questions_path, "questions file");
    if (!q) return fail(q.error().message);
    questions = *q;
  }
  auto yaml = scaffoldArtifacthub(*md, f.version, questions, nowRfc3339());
  if (!yaml) return fail(yaml.error().message);
  if (f.output.empty()) {
    std::cout << *yaml;
    return 0;
  }
  auto ok = writeAtomically(f.output, *yaml);
  return ok ? 0 : fail(ok.error().message);
}

}  // namespace

void addScaffoldCommand(CLI::App& app, int& exit_code) {
  auto* scaffold =
      app.add_subcommand("scaffold", "Scaffold a Kubernetes resource or configuration file");
  scaffold->require_subcommand(1);

  auto* m = scaffold->add_subcommand("manifest", "Output a Kubernetes resource manifest");
  auto mf = std::make_shared<ManifestFlags>();
  m->add_option("uri_or_sha_prefix", mf->request.uri, "Policy URI or SHA prefix")->required();
  m->add_option("-t,--type", mf->request.type, "Kubewarden Custom Resource type")
      ->required()
      ->check(CLI::IsMember({"ClusterAdmissionPolicy", "AdmissionPolicy"}));
  m->add_option("-s,--settings-path", mf->settings_path,
                "File containing the settings for this policy");
  m->add_option("--settings-json", mf->settings_json,
                "JSON string containing the settings for this policy");
  m->add_option("--title", mf->title, "Policy title");
  m->add_flag("--allow-context-aware", mf->request.allow_context_aware,
              "Grant access to the Kubernetes resources defined inside of the policy's "
              "`contextAwareResources` section");
  addRemoteFlags(*m, mf->remote);
  m->callback([mf, &exit_code] { exit_code = manifest(*mf); });

  auto* v = scaffold->add_subcommand("verification-config",
                                     "Output a default Sigstore verification configuration file");
  v->callback([&exit_code] {
    std::cout << scaffoldVerificationConfig(configDir() / "verification-config.yml");
    exit_code = 0;
  });

  auto* a = scaffold->add_subcommand("artifacthub",
                                     "Output an artifacthub-pkg.yml file from a metadata.yml file");
  auto af = std::make_shared<ArtifacthubFlags>();
  a->add_option("-m,--metadata-path", af->metadata_path,
                "File containing the metadata of the policy")
      ->required();
  a->add_option("-v,--version", af->version, "Semver version of the policy")->required();
  a->add_option("-q,--questions-path", af->questions_path,
                "File containing the questions-ui content of the policy");
  a->add_option("-o,--output", af->output, "Path where the artifact-pkg.yml file will be stored");
  a->callback([af, &exit_code] { exit_code = artifacthub(*af); });
}

}  // namespace kw::kwctl
