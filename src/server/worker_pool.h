// A fixed set of long-lived evaluation threads fed from one job queue. Policies run on V8, and
// each thread keeps its own isolate for its whole life, so evaluations must not hop between
// short-lived threads: the pool's size is also the bound on concurrent evaluations
// (upstream's --workers semaphore, spec §1.3).
//
// Request traffic comes in as Tasks, which the pool protects itself against (issue #15):
// - the queue is bounded: a task that does not fit is refused at once (the caller answers);
// - a task has a deadline: one still queued when it passes is expired (its `expired` callback
//   runs, on the pool's sweeper thread, at the deadline) instead of being run late;
// - tasks of one group (one policy) run on at most `max_per_group` threads at once and hold at
//   most a proportional share of the queue, so a looping policy cannot take every worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace kw::server {

struct PoolOptions {
  size_t threads = 1;
  size_t max_queued = 0;     // tasks waiting for a thread; 0 = unbounded
  size_t max_per_group = 0;  // threads one group may use at once; 0 = ceil(threads / 2)
};

class WorkerPool {
 public:
  using Job = std::function<void()>;
  using Clock = std::chrono::steady_clock;

  struct Task {
    Job run;
    // Runs instead of `run` when the deadline passes while the task is still queued.
    Job expired;
    Clock::time_point deadline = Clock::time_point::max();
    // Tasks with the same non-null group share its concurrency limit and queue share.
    const void* group = nullptr;
  };
  enum class Admission { kQueued, kQueueFull, kGroupQueueFull, kStopping };

  struct Stats {
    size_t threads = 0, busy = 0, queued = 0, max_queued = 0, max_per_group = 0;
  };

  explicit WorkerPool(size_t threads);
  explicit WorkerPool(PoolOptions options);
  // Finishes the queued jobs, then joins (see shutdown).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a job outside the bound and the groups (boot work); false (and the job is dropped)
  // once shutdown has begun. A job that throws is logged and does not take its thread down.
  bool submit(Job job);
  // Queues request work under the bound, the deadline and the group limits. Anything but
  // kQueued means the task was dropped without running either callback.
  Admission submit(Task task);

  // Stops accepting jobs, runs every job already queued (expired tasks get `expired`), and
  // joins the threads. Idempotent; must not be called from a pool thread.
  void shutdown();

  size_t size() const { return threads_.size(); }
  size_t queued() const;
  Stats stats() const;
  // True on one of this pool's threads.
  bool onWorkerThread() const;

 private:
  struct Entry {
    Task task;
    bool bounded = false;  // counts against max_queued (request work, not boot work)
  };

  void loop();
  void sweep();
  // The first queued entry whose group has a free thread; jobs_.end() when none. Holds mu_.
  std::deque<Entry>::iterator nextRunnable();
  void release(const void* group);  // a task of `group` finished or left the queue; holds mu_
  static void runGuarded(const Job& job);

  PoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable sweeper_wake_;
  std::deque<Entry> jobs_;
  size_t bounded_queued_ = 0;
  size_t busy_ = 0;
  struct GroupState {
    size_t running = 0, queued = 0;
  };
  std::unordered_map<const void*, GroupState> groups_;
  Clock::time_point sweeper_target_ = Clock::time_point::max();
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::thread sweeper_;
};

}  // namespace kw::server
