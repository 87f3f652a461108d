// Answers typed host-capability requests for real: Kubernetes through a ResourceReader (watch
// caches serve lists; `get` has its own 5 s cache in the reader), OCI manifest digests and
// sigstore verifications through injected functions with upstream's 60 s success cache, DNS
// through getaddrinfo (never cached). Every dependency is a seam so tests use fakes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/callback_handler.h"
#include "host/ttl_cache.h"
#include "kube/resource_reader.h"

namespace kw::host {

struct LiveServices {
  // Not owned; null means no Kubernetes connection (Kubernetes requests then fail).
  kube::ResourceReader* kube = nullptr;
  // The digest ("sha256:…") of `image` as the policy wrote it (short names are expanded by the
  // implementation). Unset: the capability fails with a clear error.
  std::function<Result<std::string>(const std::string& image)> manifest_digest;
  // Sigstore verification: takes SigstoreVerificationInputV2 JSON, returns
  // {"is_trusted":bool,"digest":"…"}. Unset: verification requests fail.
  std::function<Result<std::string>(const std::string& v2_payload)> sigstore_verify;
  // Unset: getaddrinfo.
  std::function<Result<std::vector<std::string>>(const std::string& host)> dns_lookup;
  Clock clock = steadyClock();
  // Whatever the pointers and functions above rely on (reader, registry client, verifier):
  // held for as long as the handler lives, so work abandoned on the pool stays safe.
  std::shared_ptr<const void> keep_alive;
  std::chrono::steady_clock::duration oci_ttl = std::chrono::seconds(60);
};

class LiveHandler : public CallbackHandler {
 public:
  explicit LiveHandler(LiveServices services);

  Result<std::string> handle(const CallbackRequest& request) override;
  bool mayBlock(const CallbackRequest& request) const override;

 private:
  Result<std::string> kubernetes(const CallbackRequest& request);
  Result<std::string> manifestDigest(const CallbackRequest& request);
  Result<std::string> verify(const CallbackRequest& request);

  LiveServices services_;
  mutable TtlCache digests_;
  mutable TtlCache verifications_;
};

// getaddrinfo's addresses for `host`, IPv4 and IPv6, in resolver order without duplicates;
// errors read "failed to lookup address information: <reason>".
Result<std::vector<std::string>> lookupHost(const std::string& host);

}  // namespace kw::host
