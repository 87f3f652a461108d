#include "controller/leader_election.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kw::controller {

using json = nlohmann::json;
using std::chrono::steady_clock;

namespace {

const kube::ResourceType kLeaseType{{"coordination.k8s.io/v1", "Lease"}, "leases", true};

}  // namespace

std::string microTimeNow() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) %
            std::chrono::seconds(1);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z",
                     std::chrono::floor<std::chrono::seconds>(now), us.count());
}

LeaderElector::LeaderElector(Writer& writer, Options options)
    : writer_(writer), options_(std::move(options)) {}

LeaderElector::~LeaderElector() {
  stop();
  if (renew_thread_.joinable()) renew_thread_.join();
}

void LeaderElector::stop() {
  stopping_.store(true);
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

bool LeaderElector::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_.load(); });
  return !stopping_.load();
}

bool LeaderElector::tryAcquireOrRenew() {
  std::string now = microTimeNow();
  int duration_s = static_cast<int>(options_.lease_duration.count() / 1000);
  ApiReply current = writer_.get(kLeaseType, options_.ns, options_.name);
  if (current.status == 404) {
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", duration_s},
                    {"acquireTime", now},
                    {"renewTime", now},
                    {"leaseTransitions", 0}}}};
    return writer_.create(kLeaseType, lease).ok();
  }
  if (!current.ok()) {
    spdlog::warn("leader election: {}", current.message);
    return false;
  }
  json lease = std::move(current.object);
  json& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  std::string holder = spec.value("holderIdentity", "");
  if (holder != options_.identity) {
    std::string record = spec.dump();
    if (record != observed_record_) {
      observed_record_ = record;
      observed_at_ = steady_clock::now();
    }
    auto held_for = std::chrono::seconds(spec.value("leaseDurationSeconds", duration_s));
    if (!holder.empty() && steady_clock::now() - observed_at_ < held_for) return false;
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = duration_s;
  spec["renewTime"] = now;
  return writer_.replace(kLeaseType, lease).ok();  // carries resourceVersion: 409 if raced
}

bool LeaderElector::acquire() {
  spdlog::info("leader election: waiting for lease {}/{} as {}", options_.ns, options_.name,
               options_.identity);
  while (!stopping_.load()) {
    if (tryAcquireOrRenew()) {
      leading_.store(true);
      spdlog::info("leader election: acquired lease {}/{}", options_.ns, options_.name);
      return true;
    }
    if (!sleepFor(options_.retry_period)) break;
  }
  return false;
}

void LeaderElector::startRenewing(std::function<void()> on_lost) {
  renew_thread_ = std::thread([this, on_lost = std::move(on_lost)] {
    auto last_renew = steady_clock::now();
    while (sleepFor(options_.retry_period)) {
      if (tryAcquireOrRenew()) {
        last_renew = steady_clock::now();
        continue;
      }
      if (steady_clock::now() - last_renew >= options_.renew_deadline) {
        leading_.store(false);
        spdlog::error("leader election: lost lease {}/{}", options_.ns, options_.name);
        on_lost();
        return;
      }
    }
  });
}

void LeaderElector::release() {
  stop();
  if (renew_thread_.joinable()) renew_thread_.join();
  if (!leading_.exchange(false)) return;
  ApiReply current = writer_.get(kLeaseType, options_.ns, options_.name);
  if (!current.ok()) return;
  json lease = std::move(current.object);
  if (lease["spec"].value("holderIdentity", "") != options_.identity) return;
  std::string now = microTimeNow();
  // As client-go's ReleaseOnCancel: no holder, a 1 s lease, so candidates take it at once.
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now;
  lease["spec"]["acquireTime"] = now;
  ApiReply put = writer_.replace(kLeaseType, lease);
  if (put.ok()) {
    spdlog::info("leader election: released lease {}/{}", options_.ns, options_.name);
  } else {
    spdlog::warn("leader election: could not release the lease: {}", put.message);
  }
}

}  // namespace kw::controller
