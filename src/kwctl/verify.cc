// kwctl verify: checks the cosign signatures of a policy in an OCI registry against a
// verification config file (spec §1.6) or the flag shortcuts (-k, -a, --cert-email with
// --cert-oidc-issuer, --github-owner/--github-repo), as upstream's `kwctl verify`.
//
// Keyless checks need --fulcio-cert-path: Sigstore's public TUF repository is not fetched.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "kwctl/commands.h"
#include "kwctl/remote.h"
#include "oci/registry_client.h"
#include "sigstore/constraints.h"
#include "sigstore/verification_config.h"
#include "sigstore/verifier.h"

namespace kw::kwctl {
namespace {

struct VerifyFlags {
  std::string uri;
  RemoteFlags remote;
  VerificationFlags verification;
};

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return makeError(fmt::format("could not read file {}: {}", path, std::strerror(errno)));
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// "k=v" pairs; entries without "=" are ignored, as upstream does.
std::optional<sigstore::Annotations> annotationsFromFlags(const std::vector<std::string>& items) {
  sigstore::Annotations out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// Upstream's flag shortcuts: every given identity becomes an allOf entry.
Result<std::optional<sigstore::VerificationConfig>> configFromFlags(const VerificationFlags& f) {
  auto annotations = annotationsFromFlags(f.annotations);
  bool identity = !f.keys.empty() || !f.cert_email.empty() || !f.cert_oidc_issuer.empty() ||
                  !f.github_owner.empty();
  if (!identity && !annotations && f.github_repo.empty()) {
    return std::optional<sigstore::VerificationConfig>();
  }
  if (!identity && annotations) {
    return makeError(
        "Intending to verify annotations, but no verification keys, OIDC issuer or GitHub owner "
        "were passed");
  }
  if (!f.github_repo.empty() && f.github_owner.empty()) {
    return makeError(
        "Intending to verify GitHub actions signature, but the repository owner is missing.");
  }
  if (f.cert_email.empty() != f.cert_oidc_issuer.empty()) {
    return makeError(
        "Intending to verify OIDC issuer, but no email or issuer were provided. You must pass "
        "the email and OIDC issuer to be validated together");
  }
  std::vector<sigstore::Constraint> all_of;
  if (!f.cert_email.empty()) {
    all_of.push_back(
        {sigstore::IssuerConstraint{f.cert_oidc_issuer, f.cert_email, false}, annotations});
  }
  if (!f.github_owner.empty()) {
    std::optional<std::string> repo;
    if (!f.github_repo.empty()) repo = f.github_repo;
    all_of.push_back({sigstore::GithubConstraint{f.github_owner, repo}, annotations});
  }
  for (const auto& path : f.keys) {
    auto key = readText(path);
    if (!key.ok()) return key.error();
    all_of.push_back({sigstore::PubKeyConstraint{*key, std::nullopt}, annotations});
  }
  return std::optional<sigstore::VerificationConfig>(
      sigstore::VerificationConfig{std::move(all_of), std::nullopt});
}

bool needsFulcio(const sigstore::VerificationConfig& config) {
  auto keyless = [](const std::vector<sigstore::Constraint>& list) {
    for (const auto& c : list) {
      if (!std::holds_alternative<sigstore::PubKeyConstraint>(c.what)) return true;
    }
    return false;
  };
  return (config.all_of && keyless(*config.all_of)) ||
         (config.any_of && keyless(config.any_of->signatures));
}

Result<sigstore::TrustRoot> trustRootFromFlags(const VerificationFlags& f) {
  sigstore::TrustRoot root;
  for (const auto& path : f.fulcio_certs) {
    auto pem = readText(path);
    if (!pem.ok()) return pem.error();
    root.fulcio_certs_pem.push_back(std::move(*pem));
  }
  if (!f.rekor_public_key.empty()) {
    auto pem = readText(f.rekor_public_key);
    if (!pem.ok()) return pem.error();
    root.rekor_public_key_pem = std::move(*pem);
  }
  return root;
}

int verify(const VerifyFlags& f) {
  if (f.uri.find("://") != std::string::npos && f.uri.rfind("registry://", 0) != 0) {
    return fail(fmt::format(
        "cannot verify {}: signatures can be verified only for registry:// policies", f.uri));
  }
  Result<std::optional<sigstore::VerificationConfig>> config =
      std::optional<sigstore::VerificationConfig>();
  if (!f.verification.config_path.empty()) {
    auto read = sigstore::readVerificationConfig(f.verification.config_path);
    if (!read.ok()) return fail(read.error().message);
    config = std::optional<sigstore::VerificationConfig>(std::move(*read));
  } else {
    config = configFromFlags(f.verification);
    if (!config.ok()) return fail(config.error().message);
  }
  if (!*config) {
    return fail(
        "no verification options given: use --verification-config-path, -k, --cert-email with "
        "--cert-oidc-issuer, or --github-owner");
  }
  auto trust = trustRootFromFlags(f.verification);
  if (!trust.ok()) return fail(trust.error().message);
  if (needsFulcio(**config) && trust->fulcio_certs_pem.empty()) {
    return fail(
        "keyless verification needs --fulcio-cert-path: Sigstore's TUF repository is not "
        "supported");
  }
  auto options = clientOptions(f.remote);
  if (!options.ok()) return fail(options.error().message);
  oci::RegistryClient registry(std::move(*options));
  sigstore::Verifier verifier(registry, std::move(*trust));
  auto digest = verifier.verifyConfig(f.uri, **config);
  if (!digest.ok()) {
    return fail(fmt::format("Policy {} cannot be validated\n{}", f.uri, digest.error().message));
  }
  spdlog::info("Policy successfully verified");
  spdlog::debug("verified manifest digest: {}", *digest);
  return 0;
}

}  // namespace

void addVerifyCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("verify", "Verify a Kubewarden policy from an OCI registry");
  auto flags = std::make_shared<VerifyFlags>();
  cmd->add_option("uri", flags->uri, "Policy URI. Supported schemes: registry://")->required();
  addRemoteFlags(*cmd, flags->remote);
  addVerificationFlags(*cmd, flags->verification);
  cmd->callback([flags, &exit_code] { exit_code = verify(*flags); });
}

}  // namespace kw::kwctl
