// Assembles the host side of a run from real services: the Kubernetes watch caches, the OCI
// registry client, the sigstore verifier, optional recording or replaying, and the shared
// CapabilityDispatcher in front. kwctl (src/kwctl/host_flags) and the policy-server
// (src/server/host_setup) differ only in what they pass here.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "host/capability_dispatcher.h"
#include "host/session.h"
#include "kube/cached_reader.h"
#include "oci/registry_client.h"
#include "policy/metadata.h"
#include "sigstore/verifier.h"

namespace kw::host {

struct HostStackOptions {
  std::shared_ptr<kube::CachedReader> kube;  // null: no Kubernetes connection
  oci::ClientOptions registry;
  sigstore::TrustRoot trust_root;
  std::optional<std::filesystem::path> record_to;  // exclusive with replay_from
  std::optional<std::filesystem::path> replay_from;
};

struct HostStack {
  std::shared_ptr<CapabilityDispatcher> dispatcher;
  std::shared_ptr<RecordingHandler> recorder;  // set when recording: save() writes the file
  std::shared_ptr<kube::CachedReader> kube;
};

Result<HostStack> buildHostStack(HostStackOptions options);

// The Rego context's change probe for a CachedReader: the reflector's resourceVersion plus
// its event and list counters.
std::function<std::optional<std::string>(const kube::ResourceKey&)> reflectorRevision(
    std::shared_ptr<kube::CachedReader> reader);

// contextAwareResources as the dispatcher's allow-list keys.
std::set<kube::ResourceKey> resourceKeys(const std::set<policy::ContextAwareResource>& resources);

}  // namespace kw::host
