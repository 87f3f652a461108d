#include "kwctl/host_flags.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kw::kwctl {

void addHostFlags(CLI::App& cmd, HostFlags& flags) {
  cmd.add_flag("--allow-context-aware", flags.allow_context_aware,
               "Grant access to the Kubernetes resources defined inside of the policy's "
               "`contextAwareResources` section. Warning: review the list of resources carefully "
               "to avoid abuses. Disabled by default");
  auto* record = cmd.add_option("--record-host-capabilities-interactions", flags.record_path,
                                "Record all the policy <-> host capabilities communications to "
                                "the given file. Useful to be combined later with "
                                "'--replay-host-capabilities-interactions' flag")
                     ->type_name("FILE");
  auto* replay = cmd.add_option("--replay-host-capabilities-interactions", flags.replay_path,
                                "During policy <-> host capabilities exchanges the host replays "
                                "back the answers found inside of the provided file. This is "
                                "useful to test policies in a reproducible way, given no "
                                "external interactions with OCI registries, DNS, Kubernetes are "
                                "performed.")
                     ->type_name("FILE");
  record->excludes(replay);
  replay->excludes(record);
}

Status KwctlHost::finish() {
  if (!stack.recorder) return okStatus();
  return stack.recorder->save();
}

Result<std::shared_ptr<kube::CachedReader>> connectFromKubeconfig() {
  auto config = kube::loadKubeconfig();
  if (!config) return makeError("Cannot connect to Kubernetes: " + config.error().message);
  auto client = kube::Client::create(std::move(*config));
  if (!client) return makeError("Cannot connect to Kubernetes: " + client.error().message);
  return std::make_shared<kube::CachedReader>(std::move(*client));
}

std::set<policy::ContextAwareResource> allowedResources(const HostFlags& flags,
                                                        const std::optional<policy::Metadata>& md) {
  if (!md) {
    spdlog::info("Policy is not annotated, access to Kubernetes resources is not allowed");
    return {};
  }
  if (md->contextAwareResources.empty()) return {};
  if (flags.allow_context_aware) {
    spdlog::warn(
        "Policy has been granted access to the Kubernetes resources mentioned by its "
        "metadata");
    return md->contextAwareResources;
  }
  spdlog::warn(
      "Policy requires access to Kubernetes resources at evaluation time. During this "
      "execution the access to Kubernetes resources is denied. This can cause the "
      "policy to not behave properly");
  spdlog::warn(
      "Carefully review which types of Kubernetes resources the policy needs via the "
      "`inspect` command, then run the policy using the `--allow-context-aware` flag.");
  return {};
}

Result<std::unique_ptr<KwctlHost>> buildKwctlHost(const HostFlags& flags,
                                                  const std::string& policy_id,
                                                  const std::optional<policy::Metadata>& md,
                                                  oci::ClientOptions registry,
                                                  KubeConnector connect) {
  if (!flags.record_path.empty() && !flags.replay_path.empty()) {
    return makeError(
        "--record-host-capabilities-interactions and "
        "--replay-host-capabilities-interactions cannot be used at the same time");
  }
  auto allowed = allowedResources(flags, md);
  host::HostStackOptions options;
  options.registry = std::move(registry);
  if (!flags.record_path.empty()) options.record_to = flags.record_path;
  if (!flags.replay_path.empty()) options.replay_from = flags.replay_path;
  if (!allowed.empty() && flags.replay_path.empty()) {
    auto reader = connect();
    if (!reader) return reader.error();
    options.kube = std::move(*reader);
  }
  auto stack = host::buildHostStack(std::move(options));
  if (!stack) return stack.error();
  auto out = std::make_unique<KwctlHost>();
  out->stack = std::move(*stack);
  out->stack.dispatcher->allowResources(policy_id, host::resourceKeys(allowed));
  return out;
}

}  // namespace kw::kwctl
