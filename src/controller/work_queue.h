// A deduplicating work queue of object keys, as controllers need: a key queued twice is handled
// once; a key re-added while a worker holds it is handled again after that worker is done (never
// by two workers at once); failed keys come back with per-key exponential backoff; and a key can
// be scheduled for later (requeue-after). No thread of its own: get() waits for the next due key.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace kw::controller {

// Per-key retry delays: base * 2^(failures so far), capped at max.
struct QueueBackoff {
  std::chrono::milliseconds base{50};
  std::chrono::milliseconds max{30000};
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using Backoff = QueueBackoff;
  struct Stats {
    uint64_t adds = 0;     // keys that entered the queue (deduplicated adds not counted)
    uint64_t retries = 0;  // addRateLimited calls
    size_t depth = 0;      // keys waiting now (not the delayed ones)
    size_t delayed = 0;
  };

  WorkQueue() : WorkQueue(QueueBackoff{}) {}
  explicit WorkQueue(QueueBackoff backoff) : backoff_(backoff) {}

  void add(const std::string& key);
  // Like add, but ahead of every waiting key (moved to the front if it already waits): for
  // repairs, which must not wait behind a burst of routine reconciles.
  void addUrgent(const std::string& key);
  // Queues `key` once `delay` has passed; an earlier pending schedule of the same key wins.
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  // After a failure: base * 2^(failures so far), capped at max.
  void addRateLimited(const std::string& key);
  // After a success: the key's failure count starts again from zero.
  void forget(const std::string& key);
  int failures(const std::string& key) const;

  // The next key (blocking); nullopt once shut down. Pair each key with done().
  std::optional<std::string> get();
  void done(const std::string& key);
  // Wakes every get() with nullopt; later adds are ignored.
  void shutdown();
  bool shuttingDown() const;
  Stats stats() const;

 private:
  void enqueueLocked(const std::string& key);
  void promoteDueLocked(Clock::time_point now);

  Backoff backoff_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;       // queued (or to be re-queued when done)
  std::set<std::string> processing_;  // held by a worker
  std::set<std::string> urgent_;      // held by a worker and re-added urgently meanwhile
  std::multimap<Clock::time_point, std::string> delayed_;
  std::map<std::string, Clock::time_point> delayed_at_;
  std::map<std::string, int> failures_;
  bool shutting_down_ = false;
  Stats stats_;
};

}  // namespace kw::controller
