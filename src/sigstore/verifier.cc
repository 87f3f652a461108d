#include "sigstore/verifier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "sigstore/constraints.h"
#include "sigstore/signature_fetch.h"
#include "sigstore/verification_input.h"

namespace kw::sigstore {
namespace {

using Clock = std::chrono::steady_clock;
// Upstream keeps successful verifications for 60 s; failures are always retried.
constexpr auto kCacheTtl = std::chrono::seconds(60);

std::string reply(const std::string& digest) {
  // Field order as upstream's serde struct: is_trusted, then digest.
  return fmt::format("{{\"is_trusted\":true,\"digest\":{}}}", nlohmann::json(digest).dump());
}

}  // namespace

struct Verifier::Impl {
  oci::RegistryClient& registry;
  Result<ParsedTrust> trust;
  std::mutex mu;
  std::map<std::string, std::pair<std::string, Clock::time_point>> cache;  // key → reply

  Impl(oci::RegistryClient& r, const TrustRoot& root) : registry(r), trust(parseTrustRoot(root)) {
    if (!trust.ok()) spdlog::error("sigstore: unusable trust root: {}", trust.error().message);
  }

  std::optional<std::string> cached(const std::string& key) {
    std::lock_guard lock(mu);
    auto it = cache.find(key);
    if (it == cache.end() || Clock::now() - it->second.second > kCacheTtl) return std::nullopt;
    return it->second.first;
  }

  void remember(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu);
    auto now = Clock::now();
    std::erase_if(cache, [&](const auto& e) { return now - e.second.second > kCacheTtl; });
    cache[key] = {value, now};
  }

  // Fetches and checks the signatures, then evaluates `config`: the verified digest.
  Result<std::string> run(std::string_view image, const VerificationConfig& config) {
    if (!trust.ok()) return trust.error();
    auto data = fetchSignatureData(registry, image);
    if (!data.ok()) return data.error();
    auto layers = buildSignatureLayers(data->layers, data->image_digest, *trust);
    if (layers.empty()) {
      return makeError(fmt::format(
          "failed to fetch trusted layers of {}: no signature layer passed verification",
          data->image));
    }
    if (auto st = evaluate(config, layers); !st.ok()) return st.error();
    spdlog::debug("sigstore: {} verified ({})", data->image, data->image_digest);
    return data->image_digest;
  }

  Result<std::string> verifyRequest(const std::string& op, std::string_view payload,
                                    Result<VerificationRequest> request) {
    if (!request.ok()) return request.error();
    std::string key = op + '\n' + std::string(payload);
    if (auto hit = cached(key)) return *hit;
    VerificationConfig config;
    config.all_of = request->all_of;
    auto digest = run(request->image, config);
    if (!digest.ok()) {
      if (request->certificate) return makeError("verification failed: " + digest.error().message);
      return digest.error();
    }
    std::string out = reply(*digest);
    remember(key, out);
    return out;
  }
};

Verifier::Verifier(oci::RegistryClient& registry, TrustRoot trust_root)
    : impl_(std::make_unique<Impl>(registry, trust_root)) {}

Verifier::~Verifier() = default;

Result<std::string> Verifier::verifyV1(std::string_view payload) {
  return impl_->verifyRequest("v1", payload, parseVerificationInputV1(payload));
}

Result<std::string> Verifier::verifyV2(std::string_view payload) {
  return impl_->verifyRequest("v2", payload, parseVerificationInputV2(payload));
}

Result<std::string> Verifier::verifyConfig(std::string_view image,
                                           const VerificationConfig& config) {
  return impl_->run(image, config);
}

}  // namespace kw::sigstore
