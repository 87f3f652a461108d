#include "host/task_pool.h"

#include <memory>

namespace kw::host {

TaskPool::TaskPool(size_t threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void TaskPool::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void TaskPool::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

namespace {

// Shared by the waiting guest thread and the task; whichever finishes last frees it.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<std::string>> result;
};

}  // namespace

std::optional<Result<std::string>> TaskPool::runUntil(
    std::function<Result<std::string>()> work, std::chrono::steady_clock::time_point deadline) {
  auto pending = std::make_shared<Pending>();
  submit([pending, work = std::move(work)] {
    auto r = work();
    {
      std::lock_guard lock(pending->mu);
      pending->result.emplace(std::move(r));
    }
    pending->cv.notify_all();
  });
  std::unique_lock lock(pending->mu);
  auto ready = [&] { return pending->result.has_value(); };
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    pending->cv.wait(lock, ready);
  } else if (!pending->cv.wait_until(lock, deadline, ready)) {
    return std::nullopt;
  }
  return std::move(pending->result);
}

}  // namespace kw::host
