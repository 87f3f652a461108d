// kwctl's host-capability wiring for `run` and `bench`: the `--allow-context-aware`,
// `--record-host-capabilities-interactions` and `--replay-host-capabilities-interactions`
// flags, and the dispatcher a run uses. The policy's contextAwareResources become its
// allow-list only with --allow-context-aware (upstream's warnings otherwise); Kubernetes is
// reached through the kubeconfig only when that list is non-empty and nothing is replayed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "host/host_stack.h"
#include "policy/metadata.h"

namespace kw::kwctl {

struct HostFlags {
  bool allow_context_aware = false;
  std::string record_path;  // --record-host-capabilities-interactions
  std::string replay_path;  // --replay-host-capabilities-interactions
};

void addHostFlags(CLI::App& cmd, HostFlags& flags);

// What the run keeps alive until it ends. Destroying it (or calling finish) writes a recorded
// session.
struct KwctlHost {
  host::HostStack stack;
  host::Dispatcher* dispatcher() const { return stack.dispatcher.get(); }
  // Writes the recorded session now, if recording; errors name the file.
  Status finish();
};

// How kwctl reaches Kubernetes; replaced in tests. Default: the kubeconfig ($KUBECONFIG or
// ~/.kube/config) through kube::Client and a CachedReader.
using KubeConnector = std::function<Result<std::shared_ptr<kube::CachedReader>>()>;
Result<std::shared_ptr<kube::CachedReader>> connectFromKubeconfig();

// The allow-list for a run (logging upstream's warnings): the metadata's contextAwareResources
// with --allow-context-aware, else none.
std::set<policy::ContextAwareResource> allowedResources(const HostFlags& flags,
                                                        const std::optional<policy::Metadata>& md);

// Builds the host side of a run for `policy_id`. `registry` carries --sources-path and
// --docker-config-json-path (see kwctl::clientOptions).
Result<std::unique_ptr<KwctlHost>> buildKwctlHost(const HostFlags& flags,
                                                  const std::string& policy_id,
                                                  const std::optional<policy::Metadata>& md,
                                                  oci::ClientOptions registry = {},
                                                  KubeConnector connect = connectFromKubeconfig);

}  // namespace kw::kwctl
