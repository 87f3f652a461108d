#include "host/host_stack.h"

#include <fmt/format.h>

#include "host/live_handler.h"
#include "oci/reference.h"

namespace kw::host {

std::function<std::optional<std::string>(const kube::ResourceKey&)> reflectorRevision(
    std::shared_ptr<kube::CachedReader> reader) {
  return [reader](const kube::ResourceKey& key) -> std::optional<std::string> {
    auto r = reader->reflector(key);
    if (!r || !(*r)->synced()) return std::nullopt;
    auto stats = (*r)->stats();
    return fmt::format("{}/{}/{}", (*r)->resourceVersion(), stats.events, stats.lists);
  };
}

std::set<kube::ResourceKey> resourceKeys(const std::set<policy::ContextAwareResource>& resources) {
  std::set<kube::ResourceKey> out;
  for (const auto& r : resources) out.insert({r.apiVersion, r.kind});
  return out;
}

namespace {

struct Owned {
  std::shared_ptr<kube::CachedReader> kube;
  std::shared_ptr<oci::RegistryClient> registry;
  std::shared_ptr<sigstore::Verifier> verifier;
};

LiveServices liveServices(const std::shared_ptr<Owned>& owned) {
  LiveServices s;
  s.kube = owned->kube.get();
  oci::RegistryClient* registry = owned->registry.get();
  sigstore::Verifier* verifier = owned->verifier.get();
  s.manifest_digest = [registry](const std::string& image) -> Result<std::string> {
    auto ref = oci::parseReference(image);
    if (!ref) return ref.error();
    return registry->manifestDigest(*ref);
  };
  s.sigstore_verify = [verifier](const std::string& payload) {
    return verifier->verifyV2(payload);
  };
  s.keep_alive = owned;
  return s;
}

}  // namespace

Result<HostStack> buildHostStack(HostStackOptions options) {
  if (options.record_to && options.replay_from) {
    return makeError("recording and replaying host capabilities interactions are exclusive");
  }
  std::shared_ptr<CallbackHandler> handler;
  std::shared_ptr<RecordingHandler> recorder;
  auto owned = std::make_shared<Owned>();
  owned->kube = options.kube;
  if (options.replay_from) {
    auto replay = ReplayingHandler::fromFile(*options.replay_from);
    if (!replay) return replay.error();
    handler = *replay;
  } else {
    owned->registry = std::make_shared<oci::RegistryClient>(std::move(options.registry));
    owned->verifier =
        std::make_shared<sigstore::Verifier>(*owned->registry, std::move(options.trust_root));
    handler = std::make_shared<LiveHandler>(liveServices(owned));
    if (options.record_to) {
      recorder = std::make_shared<RecordingHandler>(handler, *options.record_to);
      handler = recorder;
    }
  }
  DispatcherOptions d;
  d.handler = handler;
  d.pool = makeHostPool();
  d.reader = owned->kube.get();
  d.keep_alive = owned;
  // Sessions carry the Rego context's list requests too, as upstream's did.
  d.rego_via_handler = options.record_to.has_value() || options.replay_from.has_value();
  if (owned->kube) d.rego.revision = reflectorRevision(owned->kube);
  HostStack stack;
  stack.dispatcher = std::make_shared<CapabilityDispatcher>(std::move(d));
  stack.recorder = std::move(recorder);
  stack.kube = owned->kube;
  return stack;
}

}  // namespace kw::host
