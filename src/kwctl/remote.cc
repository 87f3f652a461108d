#include "kwctl/remote.h"

#include <fmt/format.h>

#include <cstdlib>

#include "kwctl/commands.h"
#include "kwctl/progress.h"
#include "kwctl/verification.h"

namespace kw::kwctl {
namespace fs = std::filesystem;

void addRemoteFlags(CLI::App& cmd, RemoteFlags& f) {
  cmd.add_option("--sources-path", f.sources_path,
                 "YAML file holding source information (https, registry insecure hosts, custom "
                 "CA's...)");
  cmd.add_option("--docker-config-json-path", f.docker_config_json_path,
                 "Path to a directory containing the Docker 'config.json' file. Can be used to "
                 "indicate registry authentication details");
}

bool VerificationFlags::any() const {
  return !config_path.empty() || !keys.empty() || !fulcio_certs.empty() ||
         !rekor_public_key.empty() || !annotations.empty() || !cert_email.empty() ||
         !cert_oidc_issuer.empty() || !github_owner.empty() || !github_repo.empty();
}

void addVerificationFlags(CLI::App& cmd, VerificationFlags& f) {
  cmd.add_option("--verification-config-path", f.config_path,
                 "YAML file holding verification config information (signatures, public keys...)");
  cmd.add_option("-k,--verification-key", f.keys, "Path to key used to verify the policy");
  cmd.add_option("--fulcio-cert-path", f.fulcio_certs, "Path to the Fulcio certificate");
  cmd.add_option("--rekor-public-key-path", f.rekor_public_key, "Path to the Rekor public key");
  cmd.add_option("-a,--verification-annotation", f.annotations,
                 "Annotation in key=value format. Can be repeated multiple times");
  cmd.add_option("--cert-email", f.cert_email,
                 "Expected email in Fulcio certificate (with --cert-oidc-issuer)");
  cmd.add_option("--cert-oidc-issuer", f.cert_oidc_issuer,
                 "Expected OIDC issuer in Fulcio certificates (with --cert-email)");
  cmd.add_option("--github-owner", f.github_owner,
                 "GitHub owner expected in the certificates generated in CD pipelines");
  cmd.add_option("--github-repo", f.github_repo,
                 "GitHub repository expected in the certificates generated in CD pipelines");
}

Status requireVerifiable(const std::string& uri, const VerificationFlags& f) {
  if (!f.any() || uri.starts_with("registry://")) return okStatus();
  return makeError(fmt::format(
      "cannot verify {}: signatures can be verified only for registry:// policies", uri));
}

fs::path configDir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return fs::path(xdg) / "kubewarden";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : ".") / ".config" / "kubewarden";
}

Result<oci::ClientOptions> clientOptions(const RemoteFlags& f) {
  oci::ClientOptions options;
  fs::path sources_path = f.sources_path;
  if (sources_path.empty()) {
    std::error_code ec;
    fs::path fallback = configDir() / "sources.yaml";
    if (fs::exists(fallback, ec)) sources_path = fallback;
  }
  if (!sources_path.empty()) {
    auto sources = oci::readSourcesFile(sources_path);
    if (!sources) return sources.error();
    options.sources = std::move(*sources);
  }
  if (!f.docker_config_json_path.empty()) options.docker_config_dir = f.docker_config_json_path;
  options.verbose = verboseEnabled();
  return options;
}

Result<std::unique_ptr<fetch::Fetcher>> makeFetcher(const RemoteFlags& f,
                                                    oci::ProgressFn progress) {
  auto options = clientOptions(f);
  if (!options) return options.error();
  options->progress = std::move(progress);
  return std::make_unique<fetch::Fetcher>(std::move(*options), store::Store());
}

bool isRemote(const std::string& uri) {
  return uri.starts_with("registry://") || uri.starts_with("https://") ||
         uri.starts_with("http://");
}

namespace {

// `source` is what gets downloaded (the URI itself, or its verified digest); the store path is
// always the one of `uri`, as upstream.
Result<fs::path> fetchPolicy(const std::string& uri, const std::string& source,
                             const RemoteFlags& f) {
  std::unique_ptr<ProgressBar> bar;
  oci::ProgressFn progress;
  if (isRemote(uri)) {
    bar = std::make_unique<ProgressBar>("Pulling " + uri, ProgressBar::stderrIsTty());
    progress = bar->callback();
  }
  auto fetcher = makeFetcher(f, progress);
  if (!fetcher) return fetcher.error();
  if (!isRemote(uri)) return (*fetcher)->resolveLocal(uri);
  // Like upstream's pull-and-run: always a fresh download into the store.
  auto stored = (*fetcher)->store().pathFor(uri);
  if (!stored) return stored.error();
  auto fetched = (*fetcher)->fetch(source, *stored);
  bar->finish();
  if (!fetched) return fetched.error();
  return fetched->path;
}

}  // namespace

// inspect and scaffold never verify, as upstream, and read a policy already in the store
// without going to the network, so they work offline; only a missing one is pulled.
Result<fs::path> policyPath(const std::string& uri, const RemoteFlags& f) {
  if (isRemote(uri)) {
    auto fetcher = makeFetcher(f, {});
    if (!fetcher) return fetcher.error();
    if (auto stored = (*fetcher)->resolveLocal(uri)) return *stored;
  }
  return fetchPolicy(uri, uri, f);
}

Result<fs::path> policyPath(const std::string& uri, const RemoteFlags& f,
                            const VerificationFlags& verification) {
  auto source = verifiedSource(uri, verification, f);
  if (!source) return source.error();
  return fetchPolicy(uri, *source, f);
}

}  // namespace kw::kwctl
