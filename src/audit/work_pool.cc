#include "audit/work_pool.h"

namespace kw::audit {

WorkPool::WorkPool(size_t threads) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void WorkPool::runAll(std::vector<std::function<void()>> tasks) {
  if (tasks.empty()) return;
  Batch batch;
  batch.remaining = tasks.size();
  {
    std::lock_guard lock(mu_);
    for (auto& task : tasks) queue_.push_back({std::move(task), &batch});
  }
  cv_.notify_all();
  std::unique_lock lock(batch.mu);
  batch.done.wait(lock, [&] { return batch.remaining == 0; });
}

void WorkPool::loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    item.task();
    std::lock_guard lock(item.batch->mu);
    if (--item.batch->remaining == 0) item.batch->done.notify_all();
  }
}

}  // namespace kw::audit
