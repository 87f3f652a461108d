// A small shared thread pool for host capabilities that wait on the network (DNS, registries,
// sigstore, direct Kubernetes GETs), so a guest thread can stop waiting at its deadline while
// the work finishes (or fails) on its own. A task owns everything it touches: an abandoned
// task's late result lands in shared state nobody reads any more and is freed with it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace kw::host {

class TaskPool {
 public:
  explicit TaskPool(size_t threads);
  // Waits for running tasks; queued ones are dropped.
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void submit(std::function<void()> task);

  // Runs `work` on the pool and waits for its result until `deadline`; nullopt when the
  // deadline passed first (the task still runs to completion and its result is dropped).
  std::optional<Result<std::string>> runUntil(std::function<Result<std::string>()> work,
                                              std::chrono::steady_clock::time_point deadline);

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kw::host
