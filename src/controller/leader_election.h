// Leader election on a coordination.k8s.io/v1 Lease, with controller-runtime's timings (lease
// 15 s, renew deadline 10 s, retry every 2 s). A candidate takes the Lease when it is free, its
// holder let it go, or the holder stopped renewing for a whole lease duration (judged by our own
// clock since we last saw the record change, as client-go does, so clock skew does not matter).
// On graceful shutdown the leader releases the Lease, so a standby takes over within one retry.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "controller/writer.h"

namespace kw::controller {

class LeaderElector {
 public:
  struct Options {
    std::string ns;
    std::string name = "a4ddbf36.kubewarden.io";  // upstream's LeaderElectionID
    std::string identity;                          // unique per process
    std::chrono::milliseconds lease_duration{15000};
    std::chrono::milliseconds renew_deadline{10000};
    std::chrono::milliseconds retry_period{2000};
  };

  LeaderElector(Writer& writer, Options options);
  ~LeaderElector();

  // Blocks until this process holds the Lease (true) or stop() was called (false).
  bool acquire();
  // Keeps renewing on a thread; calls `on_lost` once if renewing fails for renew_deadline.
  void startRenewing(std::function<void()> on_lost);
  // Stops renewing and, when we hold it, frees the Lease for the next candidate.
  void release();
  // Wakes acquire() and the renew thread.
  void stop();
  bool leading() const { return leading_.load(); }
  const std::string& identity() const { return options_.identity; }

 private:
  bool tryAcquireOrRenew();
  bool sleepFor(std::chrono::milliseconds d);  // false when stopped

  Writer& writer_;
  Options options_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread renew_thread_;
  // The last record we saw from another holder, and when (our clock) it last changed.
  std::string observed_record_;
  std::chrono::steady_clock::time_point observed_at_;
};

// A Kubernetes MicroTime for now: "2024-01-02T15:04:05.000000Z".
std::string microTimeNow();

}  // namespace kw::controller
