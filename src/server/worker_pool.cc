#include "server/worker_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace kw::server {

WorkerPool::WorkerPool(size_t threads) {
  threads_.reserve(std::max<size_t>(threads, 1));
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i)
    threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() {
  shutdown();
}

bool WorkerPool::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

bool WorkerPool::onWorkerThread() const {
  auto me = std::this_thread::get_id();
  return std::any_of(threads_.begin(), threads_.end(),
                     [me](const std::thread& t) { return t.get_id() == me; });
}

void WorkerPool::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      // Queued work is drained before exiting: accepted requests still get their answer.
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("worker job failed: {}", e.what());
    } catch (...) {
      spdlog::error("worker job failed with a non-standard exception");
    }
  }
}

}  // namespace kw::server
