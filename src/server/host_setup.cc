#include "server/host_setup.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "kube/config.h"

namespace kw::server {
namespace {

constexpr char kCannotConnect[] =
    "Cannot connect to Kubernetes, context aware policies would not work properly";

Result<std::shared_ptr<kube::CachedReader>> connectInferred() {
  auto config = kube::inferConfig();
  if (!config) return config.error();
  auto client = kube::Client::create(std::move(*config));
  if (!client) return client.error();
  return std::make_shared<kube::CachedReader>(std::move(*client));
}

// Connects, starts a watch cache per allowed type and waits for all of them.
Result<std::shared_ptr<kube::CachedReader>> connectAndSync(const std::set<kube::ResourceKey>& types,
                                                           const HostSetupOptions& options) {
  auto reader = options.connect ? options.connect() : connectInferred();
  if (!reader) return reader.error();
  if (types.empty()) return reader;
  std::vector<kube::ResourceKey> keys(types.begin(), types.end());
  auto started = (*reader)->start(keys);
  if (!started) return started.error();
  auto synced = (*reader)->waitForSync(options.sync_timeout);
  if (!synced) return synced.error();
  spdlog::info("Kubernetes caches synced for {} resource types", keys.size());
  return reader;
}

}  // namespace

Result<host::HostStack> setupServerHost(const PolicyMap& policies, HostSetupOptions options) {
  std::set<kube::ResourceKey> types;
  for (const auto& [id, entry] : policies) {
    auto keys = host::resourceKeys(entry.context_aware_resources);
    types.insert(keys.begin(), keys.end());
  }
  host::HostStackOptions stack_options;
  stack_options.registry = std::move(options.registry);
  stack_options.trust_root = std::move(options.trust_root);
  // Upstream connects at boot whatever the policies; we only need to when one reads the
  // cluster, and a server without context-aware policies must not depend on an API server.
  if (!types.empty()) {
    auto reader = connectAndSync(types, options);
    if (!reader) {
      if (!options.ignore_kubernetes_connection_failure) {
        return makeError(fmt::format("{}: {}", kCannotConnect, reader.error().message));
      }
      spdlog::warn("{}: {} (ignored: --ignore-kubernetes-connection-failure)", kCannotConnect,
                   reader.error().message);
    } else {
      stack_options.kube = std::move(*reader);
    }
  }
  auto stack = host::buildHostStack(std::move(stack_options));
  if (!stack) return stack.error();
  for (const auto& [id, entry] : policies) {
    stack->dispatcher->allowResources(id, host::resourceKeys(entry.context_aware_resources));
  }
  return stack;
}

}  // namespace kw::server
