#include "kwctl/verification.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/file_read.h"
#include "oci/reference.h"
#include "oci/registry_client.h"
#include "sigstore/verification_config.h"

namespace kw::kwctl {
namespace {

using OptionalConfig = std::optional<sigstore::VerificationConfig>;

Result<std::string> readText(const std::string& path) {
  auto text = readFileBounded(path);
  if (!text) return makeError("could not read file: " + text.error().message);
  return text;
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

bool anyShortcut(const VerificationFlags& f) {
  return !f.keys.empty() || !f.annotations.empty() || !f.cert_email.empty() ||
         !f.cert_oidc_issuer.empty() || !f.github_owner.empty() || !f.github_repo.empty();
}

// Upstream's flag shortcuts: every given identity becomes an allOf entry.
Result<OptionalConfig> configFromFlags(const VerificationFlags& f) {
  auto annotations = annotationsFromFlags(f.annotations);
  bool identity = !f.keys.empty() || !f.cert_email.empty() || !f.cert_oidc_issuer.empty() ||
                  !f.github_owner.empty();
  if (!identity && !annotations && f.github_repo.empty()) return OptionalConfig();
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
  return OptionalConfig(sigstore::VerificationConfig{std::move(all_of), std::nullopt});
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

Result<OptionalConfig> readConfigFile(const std::filesystem::path& path) {
  auto read = sigstore::readVerificationConfig(path);
  if (!read.ok()) return read.error();
  return OptionalConfig(std::move(*read));
}

}  // namespace

std::filesystem::path defaultVerificationConfigPath() {
  return configDir() / "verification-config.yml";
}

Result<OptionalConfig> verificationConfig(const VerificationFlags& f) {
  if (anyShortcut(f) && !f.config_path.empty()) {
    return makeError(
        "verification-config-path cannot be used in conjunction with other verification flags");
  }
  if (anyShortcut(f)) return configFromFlags(f);
  if (!f.config_path.empty()) return readConfigFile(f.config_path);
  std::error_code ec;
  auto fallback = defaultVerificationConfigPath();
  if (!std::filesystem::exists(fallback, ec)) return OptionalConfig();
  spdlog::info("Default verification config present, using it: {}", fallback.string());
  return readConfigFile(fallback);
}

Result<sigstore::TrustRoot> trustRoot(const VerificationFlags& f,
                                      const sigstore::VerificationConfig& config) {
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
  if (needsFulcio(config) && root.fulcio_certs_pem.empty()) {
    return makeError(
        "keyless verification needs --fulcio-cert-path: Sigstore's TUF repository is not "
        "supported");
  }
  if (needsFulcio(config) && root.rekor_public_key_pem.empty()) {
    return makeError(
        "keyless verification needs --rekor-public-key-path: a keyless signature counts only "
        "with a Rekor bundle, and Sigstore's TUF repository is not supported");
  }
  return root;
}

Result<std::string> verifyPolicy(const std::string& uri, const sigstore::VerificationConfig& config,
                                 const VerificationFlags& verification, const RemoteFlags& remote) {
  auto trust = trustRoot(verification, config);
  if (!trust.ok()) return trust.error();
  auto options = clientOptions(remote);
  if (!options.ok()) return options.error();
  oci::RegistryClient registry(std::move(*options));
  sigstore::Verifier verifier(registry, std::move(*trust));
  auto digest = verifier.verifyConfig(uri, config);
  if (!digest.ok()) {
    return makeError(fmt::format("Policy {} cannot be validated\n{}", uri, digest.error().message));
  }
  spdlog::debug("{}: verified manifest digest {}", uri, *digest);
  return *digest;
}

Result<std::string> pinnedUri(const std::string& uri, const std::string& digest) {
  auto ref = oci::parseReference(uri);
  if (!ref.ok()) return ref.error();
  // Tag dropped on purpose: with both, the registry client would resolve the tag, which may
  // have moved since the signatures were checked.
  return fmt::format("registry://{}/{}@{}", ref->registry, ref->repository, digest);
}

Result<std::string> verifiedSource(const std::string& uri, const VerificationFlags& verification,
                                   const RemoteFlags& remote) {
  if (!uri.starts_with("registry://")) {
    if (!verification.any()) return uri;
    return makeError(fmt::format(
        "cannot verify {}: signatures can be verified only for registry:// policies", uri));
  }
  auto config = verificationConfig(verification);
  if (!config.ok()) return config.error();
  if (!*config) return uri;
  auto digest = verifyPolicy(uri, **config, verification, remote);
  if (!digest.ok()) return digest.error();
  spdlog::info("Policy successfully verified");
  return pinnedUri(uri, *digest);
}

}  // namespace kw::kwctl
