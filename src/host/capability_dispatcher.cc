#include "host/capability_dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "host/certificate.h"
#include "host/default_dispatcher.h"

namespace kw::host {
namespace {

using nlohmann::json;

Error unknownBinding(std::string_view b) {
  return makeError(fmt::format("unknown binding: {}", b));
}
Error unknownNamespace(std::string_view n) {
  return makeError(fmt::format("unknown namespace: {}", n));
}
Error unknownOperation(std::string_view o) {
  return makeError(fmt::format("unknown operation: {}", o));
}

Result<json> parsePayload(const HostCall& call) {
  json j = json::parse(call.payload, nullptr, false);
  if (j.is_discarded()) {
    return makeError(fmt::format("cannot decode the payload of {}/{}/{}: not valid JSON",
                                 call.binding, call.ns, call.operation));
  }
  return j;
}

// A payload that is one JSON string (image reference, host name).
Result<std::string> stringPayload(const HostCall& call) {
  auto j = parsePayload(call);
  if (!j) return j.error();
  if (!j->is_string()) {
    return makeError(fmt::format("invalid type: {}, expected a string", j->type_name()));
  }
  return j->get<std::string>();
}

// SigstoreVerificationInputV1 is externally tagged: {"<Variant>": {…}}.
Result<CallbackRequest> verifyV1(const json& j) {
  if (!j.is_object() || j.size() != 1) {
    return makeError(
        "expected a map with a single key: SigstorePubKeyVerify or "
        "SigstoreKeylessVerify");
  }
  const std::string variant = j.begin().key();
  if (variant != kSigstorePubKeyVerify && variant != kSigstoreKeylessVerify) {
    return makeError(fmt::format(
        "unknown variant `{}`, expected `SigstorePubKeyVerify` or `SigstoreKeylessVerify`",
        variant));
  }
  return requestFromJson(variant, j.begin().value());
}

// SigstoreVerificationInputV2 is internally tagged by "type".
Result<CallbackRequest> verifyV2(const json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return makeError("missing field `type`");
  }
  const std::string variant = j["type"].get<std::string>();
  if (!isSigstoreRequest(variant)) {
    return makeError(fmt::format("unknown variant `{}`", variant));
  }
  return requestFromJson(variant, j);
}

}  // namespace

std::shared_ptr<TaskPool> makeHostPool() {
  size_t n = std::max<size_t>(4, std::thread::hardware_concurrency());
  return std::make_shared<TaskPool>(n);
}

CapabilityDispatcher::CapabilityDispatcher(DispatcherOptions options)
    : options_(std::move(options)) {
  if (options_.rego_via_handler && options_.handler) {
    handler_reader_ = std::make_unique<HandlerReader>(options_.handler);
    RegoContextOptions via = options_.rego;
    via.revision = nullptr;
    via.ttl = std::chrono::steady_clock::duration::zero();
    rego_ = std::make_unique<RegoContextCache>(handler_reader_.get(), std::move(via));
  } else {
    rego_ = std::make_unique<RegoContextCache>(options_.reader, options_.rego);
  }
}

void CapabilityDispatcher::allowResources(const std::string& policy_id,
                                          std::set<kube::ResourceKey> resources) {
  std::unique_lock lock(mu_);
  allowed_[policy_id] = std::move(resources);
}

std::set<kube::ResourceKey> CapabilityDispatcher::allowedResources(
    std::string_view policy_id) const {
  std::shared_lock lock(mu_);
  auto it = allowed_.find(policy_id);
  return it == allowed_.end() ? std::set<kube::ResourceKey>() : it->second;
}

bool CapabilityDispatcher::allowed(std::string_view policy_id, const kube::ResourceKey& key) const {
  std::shared_lock lock(mu_);
  auto it = allowed_.find(policy_id);
  return it != allowed_.end() && it->second.count(key) > 0;
}

Result<std::string> CapabilityDispatcher::dispatch(const HostCall& call) {
  if (call.binding == "kubewarden") return kubewarden(call);
  if (call.binding == "kubernetes") return deprecatedClusterContext(call);
  spdlog::error("unknown binding: {}", call.binding);
  return unknownBinding(call.binding);
}

Result<std::string> CapabilityDispatcher::kubewarden(const HostCall& call) {
  const std::string_view ns = call.ns;
  const std::string_view op = call.operation;
  if (ns == "tracing") {
    if (op != "log") return unknownOperation(op);
    // A bad log payload is the policy's problem, not a failed call (as upstream).
    if (auto st = emitPolicyLog(call.policy_id, call.payload); !st) {
      spdlog::error("Cannot log event: {} (payload: {})", st.error().message, call.payload);
    }
    return std::string();
  }
  if (ns == "oci") {
    Result<CallbackRequest> request = makeError("");
    if (op == "v1/verify" || op == "v2/verify") {
      auto j = parsePayload(call);
      if (!j) return j.error();
      request = op == "v1/verify" ? verifyV1(*j) : verifyV2(*j);
    } else if (op == "v1/manifest_digest") {
      auto image = stringPayload(call);
      if (!image) return image.error();
      request = requestFromJson(kOciManifestDigest, json{{"image", *image}});
    } else {
      return unknownOperation(op);
    }
    if (!request) return request.error();
    return forward(*request, call);
  }
  if (ns == "net") {
    if (op != "v1/dns_lookup_host") return unknownOperation(op);
    auto host = stringPayload(call);
    if (!host) return host.error();
    auto request = requestFromJson(kDnsLookupHost, json{{"host", *host}});
    if (!request) return request.error();
    return forward(*request, call);
  }
  if (ns == "crypto") {
    if (op != "v1/is_certificate_trusted") return unknownOperation(op);
    auto r = isCertificateTrusted(call.payload, options_.wall_clock());
    if (!r) return makeError("Error when verifying certificate: " + r.error().message);
    return r;
  }
  if (ns == "kubernetes") return kubernetesRead(call);
  spdlog::error("unknown namespace: {}", ns);
  return unknownNamespace(ns);
}

Result<std::string> CapabilityDispatcher::kubernetesRead(const HostCall& call) {
  std::string_view variant;
  if (call.operation == "list_resources_by_namespace") {
    variant = kKubernetesListResourceNamespace;
  } else if (call.operation == "list_resources_all") {
    variant = kKubernetesListResourceAll;
  } else if (call.operation == "get_resource") {
    variant = kKubernetesGetResource;
  } else {
    return unknownOperation(call.operation);
  }
  auto j = parsePayload(call);
  if (!j) return j.error();
  auto request = requestFromJson(variant, *j);
  if (!request) return request.error();
  kube::ResourceKey key{request->fields["api_version"].get<std::string>(),
                        request->fields["kind"].get<std::string>()};
  if (!allowed(call.policy_id, key)) {
    spdlog::error(
        "Policy tried to access a Kubernetes resource it doesn't have access to policy={} "
        "resource_requested={}/{}",
        call.policy_id, key.api_version, key.kind);
    return makeError(
        fmt::format("Policy has not been granted access to Kubernetes {}/{} "
                    "resources. The violation has been reported.",
                    key.api_version, key.kind));
  }
  return forward(*request, call);
}

// Upstream lists these for any policy, without consulting the allow-list.
Result<std::string> CapabilityDispatcher::deprecatedClusterContext(const HostCall& call) {
  kube::ResourceKey key;
  if (call.ns == "ingresses") {
    key = {"networking.k8s.io/v1", "Ingress"};
  } else if (call.ns == "namespaces") {
    key = {"v1", "Namespace"};
  } else if (call.ns == "services") {
    key = {"v1", "Service"};
  } else {
    spdlog::error("unknown namespace: {}", call.ns);
    return unknownNamespace(call.ns);
  }
  auto request = requestFromJson(kKubernetesListResourceAll,
                                 json{{"api_version", key.api_version}, {"kind", key.kind}});
  if (!request) return request.error();
  spdlog::warn("[{}] Usage of deprecated `ClusterContext`: {}", call.policy_id,
               requestDebug(*request));
  return forward(*request, call);
}

Result<std::string> CapabilityDispatcher::forward(const CallbackRequest& request,
                                                  const HostCall& call) {
  std::shared_ptr<CallbackHandler> handler = options_.handler;
  if (!handler) return makeError("host capabilities are not available");
  Result<std::string> reply = makeError("");
  if (options_.pool && handler->mayBlock(request)) {
    auto done = options_.pool->runUntil([handler, request] { return handler->handle(request); },
                                        call.deadline);
    if (!done) {
      spdlog::warn("[{}] host call {}/{}/{} abandoned at the policy's deadline", call.policy_id,
                   call.binding, call.ns, call.operation);
      return makeError(fmt::format("host call {}/{}/{} abandoned: the policy's deadline passed",
                                   call.binding, call.ns, call.operation));
    }
    reply = std::move(*done);
  } else {
    reply = handler->handle(request);
  }
  if (!reply) {
    spdlog::error("[{}] callback evaluation failed: {}/{}/{}: {}", call.policy_id, call.binding,
                  call.ns, call.operation, reply.error().message);
    return makeError("Callback evaluation failure: " + reply.error().message);
  }
  return reply;
}

Result<std::shared_ptr<const std::string>> CapabilityDispatcher::regoContext(
    std::string_view policy_id, RegoLayout layout) {
  return rego_->get(allowedResources(policy_id), layout);
}

}  // namespace kw::host
