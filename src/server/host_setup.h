// The policy-server's host side, built once at boot and shared by every worker (spec §1.2
// step 3-4): one CapabilityDispatcher with each policy's contextAwareResources as its
// allow-list; when any policy reads Kubernetes, a connection (kubeconfig, else in-cluster) and
// a watch cache for every allowed type, synced before the server answers. Without Kubernetes
// the boot fails with upstream's message unless --ignore-kubernetes-connection-failure.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "host/host_stack.h"
#include "server/policies_file.h"

namespace kw::server {

struct HostSetupOptions {
  bool ignore_kubernetes_connection_failure = false;
  std::chrono::milliseconds sync_timeout{60000};
  oci::ClientOptions registry;  // sources.yml and docker config, as for policy downloads
  sigstore::TrustRoot trust_root;
  // How to reach Kubernetes; default: kube::inferConfig() and kube::Client.
  std::function<Result<std::shared_ptr<kube::CachedReader>>()> connect;
};

// Builds the dispatcher for `policies`. The returned stack owns everything it uses.
Result<host::HostStack> setupServerHost(const PolicyMap& policies, HostSetupOptions options);

}  // namespace kw::server
