// What every kwctl command that talks to a registry shares: the --sources-path and
// --docker-config-json-path flags, the sigstore verification flags, and turning a policy URI
// (local path, file://, store URI or SHA prefix, registry:// or https://) into a file on disk.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "fetch/fetcher.h"
#include "oci/registry_client.h"

namespace kw::kwctl {

struct RemoteFlags {
  std::string sources_path;
  std::string docker_config_json_path;
};
void addRemoteFlags(CLI::App& cmd, RemoteFlags& flags);

// Upstream's signature verification flags (kwctl/verification.h turns them into a check).
struct VerificationFlags {
  std::string config_path;
  std::vector<std::string> keys;
  std::vector<std::string> fulcio_certs;
  std::string rekor_public_key;
  std::vector<std::string> annotations;
  std::string cert_email;
  std::string cert_oidc_issuer;
  std::string github_owner;
  std::string github_repo;

  bool any() const;
};
void addVerificationFlags(CLI::App& cmd, VerificationFlags& flags);
// An error when verification flags are given for a policy that cannot be verified (anything
// but registry://), so a local module is never run as if its signatures had been checked.
Status requireVerifiable(const std::string& uri, const VerificationFlags& flags);

// ~/.config/kubewarden (or $XDG_CONFIG_HOME/kubewarden), as upstream's ProjectDirs.
std::filesystem::path configDir();

// Sources (from --sources-path, else <configDir>/sources.yaml when present), the Docker config
// folder and the global -v flag, ready for a RegistryClient.
Result<oci::ClientOptions> clientOptions(const RemoteFlags& flags);
Result<std::unique_ptr<fetch::Fetcher>> makeFetcher(const RemoteFlags& flags,
                                                    oci::ProgressFn progress = {});

// registry://, https:// or http://: needs the network.
bool isRemote(const std::string& uri);
// A local file, file:// URL, store URI or store SHA prefix as a path, for inspect and
// scaffold: a remote URI already in the store is read from there (no network, as upstream),
// otherwise pulled into the store first.
Result<std::filesystem::path> policyPath(const std::string& uri_or_sha_prefix,
                                         const RemoteFlags& flags);
// As above, for run/bench: when `verification` (or the default verification config) applies,
// the signatures are checked first and the verified manifest is pulled by digest into the
// original URI's store path, so what runs is what was verified.
Result<std::filesystem::path> policyPath(const std::string& uri_or_sha_prefix,
                                         const RemoteFlags& flags,
                                         const VerificationFlags& verification);

}  // namespace kw::kwctl
