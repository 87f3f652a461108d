#include "host/live_handler.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace kw::host {
namespace {

using nlohmann::json;

constexpr char kNoKubernetes[] =
    "Cannot process Kubernetes request: no connection to Kubernetes is configured";

std::string optString(const json& v) {
  return v.is_string() ? v.get<std::string>() : "";
}

kube::ResourceKey keyOf(const CallbackRequest& r) {
  return {r.fields["api_version"].get<std::string>(), r.fields["kind"].get<std::string>()};
}

kube::Selectors selectorsOf(const CallbackRequest& r) {
  return {optString(r.fields["label_selector"]), optString(r.fields["field_selector"])};
}

}  // namespace

Result<std::vector<std::string>> lookupHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;  // one entry per address instead of one per socket type
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return makeError(fmt::format("failed to lookup address information: {}", gai_strerror(rc)));
  }
  std::vector<std::string> ips;
  for (addrinfo* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr = nullptr;
    if (p->ai_family == AF_INET) {
      addr = &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr;
    } else if (p->ai_family == AF_INET6) {
      addr = &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    if (!inet_ntop(p->ai_family, addr, buf, sizeof buf)) continue;
    if (std::find(ips.begin(), ips.end(), buf) == ips.end()) ips.emplace_back(buf);
  }
  freeaddrinfo(res);
  return ips;
}

LiveHandler::LiveHandler(LiveServices services)
    : services_(std::move(services)),
      digests_(services_.oci_ttl, services_.clock),
      verifications_(services_.oci_ttl, services_.clock) {
  if (!services_.dns_lookup) services_.dns_lookup = lookupHost;
}

bool LiveHandler::mayBlock(const CallbackRequest& r) const {
  // Lists come from the watch caches; everything else may go to the network unless cached.
  if (r.type == kKubernetesListResourceAll || r.type == kKubernetesListResourceNamespace) {
    return false;
  }
  if (r.type == kOciManifestDigest) {
    return !digests_.get(r.fields["image"].get<std::string>());
  }
  if (isSigstoreRequest(r.type)) {
    return !verifications_.get(requestKey(r));
  }
  return true;
}

Result<std::string> LiveHandler::handle(const CallbackRequest& r) {
  if (r.type.starts_with("Kubernetes")) return kubernetes(r);
  if (r.type == kOciManifestDigest) return manifestDigest(r);
  if (isSigstoreRequest(r.type)) return verify(r);
  if (r.type == kDnsLookupHost) {
    auto ips = services_.dns_lookup(r.fields["host"].get<std::string>());
    if (!ips) return ips.error();
    return json{{"ips", *ips}}.dump();
  }
  return makeError(fmt::format("unsupported host capability request {}", r.type));
}

Result<std::string> LiveHandler::kubernetes(const CallbackRequest& r) {
  kube::ResourceReader* reader = services_.kube;
  if (!reader) return makeError(kNoKubernetes);
  auto key = keyOf(r);
  if (r.type == kKubernetesListResourceAll) return reader->listAll(key, selectorsOf(r));
  if (r.type == kKubernetesListResourceNamespace) {
    return reader->listByNamespace(key, r.fields["namespace"].get<std::string>(), selectorsOf(r));
  }
  if (r.type == kKubernetesGetResource) {
    return reader->get(key, r.fields["name"].get<std::string>(), optString(r.fields["namespace"]),
                       r.fields["disable_cache"].get<bool>());
  }
  if (r.type == kKubernetesGetResourcePluralName) {
    auto type = reader->describe(key);
    if (!type) return type.error();
    return json(type->plural).dump();
  }
  return makeError(fmt::format("unsupported host capability request {}", r.type));
}

Result<std::string> LiveHandler::manifestDigest(const CallbackRequest& r) {
  const std::string image = r.fields["image"].get<std::string>();
  if (auto hit = digests_.get(image)) return *hit;
  if (!services_.manifest_digest) {
    return makeError("Cannot fetch the manifest digest: no OCI registry client is configured");
  }
  auto digest = services_.manifest_digest(image);
  if (!digest) return digest.error();
  // Upstream 1.10 JSON-encodes the digest before wrapping it, so policies receive the digest
  // with its quotes ({"digest":"\"sha256:…\""}); we answer byte for byte the same.
  std::string reply = json{{"digest", json(*digest).dump()}}.dump();
  digests_.put(image, reply);
  return reply;
}

Result<std::string> LiveHandler::verify(const CallbackRequest& r) {
  const std::string key = requestKey(r);
  if (auto hit = verifications_.get(key)) return *hit;
  if (!services_.sigstore_verify) {
    return makeError("Cannot verify the signature: sigstore verification is not configured");
  }
  auto reply = services_.sigstore_verify(sigstoreV2Payload(r));
  if (!reply) return reply.error();
  verifications_.put(key, *reply);
  return reply;
}

}  // namespace kw::host
