// A fixed set of long-lived evaluation threads fed from one job queue. Policies run on V8, and
// each thread keeps its own isolate for its whole life, so evaluations must not hop between
// short-lived threads: the pool's size is also the bound on concurrent evaluations
// (upstream's --workers semaphore, spec §1.3).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kw::server {

class WorkerPool {
 public:
  using Job = std::function<void()>;

  explicit WorkerPool(size_t threads);
  // Finishes the queued jobs, then joins (see shutdown).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a job; false (and the job is dropped) once shutdown has begun. A job that throws
  // is logged and does not take its thread down.
  bool submit(Job job);

  // Stops accepting jobs, runs every job already queued, and joins the threads. Idempotent;
  // must not be called from a pool thread.
  void shutdown();

  size_t size() const { return threads_.size(); }
  size_t queued() const;
  // True on one of this pool's threads.
  bool onWorkerThread() const;

 private:
  void loop();

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kw::server
