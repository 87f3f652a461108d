// kwctl verify: checks the cosign signatures of a policy in an OCI registry against a
// verification config file (spec §1.6) or the flag shortcuts (-k, -a, --cert-email with
// --cert-oidc-issuer, --github-owner/--github-repo), as upstream's `kwctl verify`.
//
// Keyless checks need --fulcio-cert-path: Sigstore's public TUF repository is not fetched.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kwctl/commands.h"
#include "kwctl/remote.h"
#include "kwctl/verification.h"

namespace kw::kwctl {
namespace {

struct VerifyFlags {
  std::string uri;
  RemoteFlags remote;
  VerificationFlags verification;
};

int verify(const VerifyFlags& f) {
  if (f.uri.find("://") != std::string::npos && !f.uri.starts_with("registry://")) {
    return fail(fmt::format(
        "cannot verify {}: signatures can be verified only for registry:// policies", f.uri));
  }
  auto config = verificationConfig(f.verification);
  if (!config.ok()) return fail(config.error().message);
  if (!*config) {
    return fail(
        "no verification options given: use --verification-config-path, -k, --cert-email with "
        "--cert-oidc-issuer, or --github-owner");
  }
  auto digest = verifyPolicy(f.uri, **config, f.verification, f.remote);
  if (!digest.ok()) return fail(digest.error().message);
  spdlog::info("Policy successfully verified");
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
