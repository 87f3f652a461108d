// A fixed set of threads running audit requests. Callers hand over a batch and wait for that
// batch only, so several namespaces scanned at once share one bound on requests in flight.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kw::audit {

class WorkPool {
 public:
  explicit WorkPool(size_t threads);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Runs every task on the pool; returns when all of them finished.
  void runAll(std::vector<std::function<void()>> tasks);
  size_t threads() const { return threads_.size(); }

 private:
  struct Batch {
    std::mutex mu;
    std::condition_variable done;
    size_t remaining = 0;
  };
  struct Item {
    std::function<void()> task;
    Batch* batch;
  };
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kw::audit
