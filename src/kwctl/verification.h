// Signature verification shared by `kwctl verify`, `pull`, `run` and `bench`: the verification
// flags turned into a sigstore VerificationConfig and TrustRoot, and upstream's
// verify-then-pull flow (the policy that lands in the store is the manifest that was verified).
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "kwctl/remote.h"
#include "sigstore/constraints.h"
#include "sigstore/verifier.h"

namespace kw::kwctl {

// <configDir>/verification-config.yml: used, as upstream, when no verification flag is given.
std::filesystem::path defaultVerificationConfigPath();

// The config the flags ask for: the flag shortcuts (-k, -a, --cert-email/--cert-oidc-issuer,
// --github-owner/--github-repo), else --verification-config-path, else the default file when
// it exists; nullopt when none applies. Upstream's error texts for inconsistent flags.
Result<std::optional<sigstore::VerificationConfig>> verificationConfig(
    const VerificationFlags& flags);

// --fulcio-cert-path and --rekor-public-key-path, read. Keyless constraints in `config` need a
// Fulcio root: Sigstore's public TUF repository is not fetched.
Result<sigstore::TrustRoot> trustRoot(const VerificationFlags& flags,
                                      const sigstore::VerificationConfig& config);

// Checks the signatures of registry:// `uri` against `config`; the verified manifest digest.
// Fails with "Policy <uri> cannot be validated\n<why>", as upstream.
Result<std::string> verifyPolicy(const std::string& uri, const sigstore::VerificationConfig& config,
                                 const VerificationFlags& verification, const RemoteFlags& remote);

// `registry://host/repo@<digest>`: the exact manifest `uri` (tag or digest) was verified as.
Result<std::string> pinnedUri(const std::string& uri, const std::string& digest);

// What pull/run/bench fetch: `uri` itself when no verification applies, else the pinned URI of
// the verified manifest. Explicit verification flags on a non-registry:// URI are an error; the
// default config file applies to registry:// URIs only, so local runs keep working.
Result<std::string> verifiedSource(const std::string& uri, const VerificationFlags& verification,
                                   const RemoteFlags& remote);

}  // namespace kw::kwctl
