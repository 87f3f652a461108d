#include "server/worker_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace kw::server {
namespace {

PoolOptions normalized(PoolOptions o) {
  o.threads = std::max<size_t>(o.threads, 1);
  if (o.max_per_group == 0) o.max_per_group = (o.threads + 1) / 2;
  o.max_per_group = std::min(o.max_per_group, o.threads);
  return o;
}

}  // namespace

WorkerPool::WorkerPool(size_t threads) : WorkerPool(PoolOptions{threads, 0, 0}) {}

WorkerPool::WorkerPool(PoolOptions options) : options_(normalized(options)) {
  threads_.reserve(options_.threads);
  for (size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { loop(); });
  sweeper_ = std::thread([this] { sweep(); });
}

WorkerPool::~WorkerPool() {
  shutdown();
}

bool WorkerPool::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(Entry{Task{std::move(job), {}, Clock::time_point::max(), nullptr}, false});
  }
  wake_.notify_one();
  return true;
}

WorkerPool::Admission WorkerPool::submit(Task task) {
  bool wake_sweeper = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Admission::kStopping;
    const size_t bound = options_.max_queued;
    if (bound != 0 && bounded_queued_ >= bound) return Admission::kQueueFull;
    if (task.group != nullptr) {
      GroupState& group = groups_[task.group];
      // A group's share of the queue is its share of the threads, so a flood of requests for
      // one policy leaves room in the queue for the others.
      size_t share = std::max<size_t>(
          1, (bound * options_.max_per_group + options_.threads - 1) / options_.threads);
      if (bound != 0 && group.queued >= share) {
        if (group.running == 0 && group.queued == 0) groups_.erase(task.group);
        return Admission::kGroupQueueFull;
      }
      ++group.queued;
    }
    wake_sweeper = task.deadline < sweeper_target_;
    ++bounded_queued_;
    jobs_.push_back(Entry{std::move(task), true});
  }
  wake_.notify_one();
  if (wake_sweeper) sweeper_wake_.notify_one();
  return Admission::kQueued;
}

void WorkerPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  sweeper_wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (sweeper_.joinable()) sweeper_.join();
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

WorkerPool::Stats WorkerPool::stats() const {
  std::lock_guard lock(mu_);
  return Stats{options_.threads, busy_, jobs_.size(), options_.max_queued, options_.max_per_group};
}

bool WorkerPool::onWorkerThread() const {
  auto me = std::this_thread::get_id();
  return std::any_of(threads_.begin(), threads_.end(),
                     [me](const std::thread& t) { return t.get_id() == me; });
}

std::deque<WorkerPool::Entry>::iterator WorkerPool::nextRunnable() {
  return std::find_if(jobs_.begin(), jobs_.end(), [this](const Entry& e) {
    if (e.task.group == nullptr) return true;
    auto it = groups_.find(e.task.group);
    return it == groups_.end() || it->second.running < options_.max_per_group;
  });
}

void WorkerPool::release(const void* group) {
  if (group == nullptr) return;
  auto it = groups_.find(group);
  if (it != groups_.end() && it->second.running == 0 && it->second.queued == 0) groups_.erase(it);
}

void WorkerPool::runGuarded(const Job& job) {
  if (!job) return;
  try {
    job();
  } catch (const std::exception& e) {
    spdlog::error("worker job failed: {}", e.what());
  } catch (...) {
    spdlog::error("worker job failed with a non-standard exception");
  }
}

void WorkerPool::loop() {
  for (;;) {
    Entry entry;
    bool expired = false;
    {
      std::unique_lock lock(mu_);
      auto next = jobs_.end();
      wake_.wait(lock, [&] {
        next = nextRunnable();
        return next != jobs_.end() || (stopping_ && jobs_.empty());
      });
      // Queued work is drained before exiting: accepted requests still get their answer.
      if (next == jobs_.end()) return;
      entry = std::move(*next);
      jobs_.erase(next);
      if (entry.bounded) --bounded_queued_;
      const void* group = entry.task.group;
      expired =
          entry.task.deadline != Clock::time_point::max() && entry.task.deadline <= Clock::now();
      if (group != nullptr) {
        GroupState& state = groups_[group];
        --state.queued;
        if (!expired) ++state.running;
        if (expired) release(group);
      }
      if (!expired) ++busy_;
      // A thread waiting for a group slot must see the queue empty out to exit.
      if (stopping_ && jobs_.empty()) wake_.notify_all();
    }
    if (expired) {
      runGuarded(entry.task.expired);
      continue;
    }
    runGuarded(entry.task.run);
    std::lock_guard lock(mu_);
    --busy_;
    if (const void* group = entry.task.group) {
      --groups_[group].running;
      release(group);
    }
  }
}

// Answers queued tasks at their deadline, while every worker may be busy.
void WorkerPool::sweep() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    sweeper_target_ = Clock::time_point::max();
    for (const Entry& e : jobs_) sweeper_target_ = std::min(sweeper_target_, e.task.deadline);
    if (sweeper_target_ == Clock::time_point::max()) {
      sweeper_wake_.wait(lock);
    } else {
      sweeper_wake_.wait_until(lock, sweeper_target_);
    }
    if (stopping_) break;  // the workers drain the rest, expiring what is due
    std::vector<Job> due;
    const auto now = Clock::now();
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (it->task.deadline > now) {
        ++it;
        continue;
      }
      due.push_back(std::move(it->task.expired));
      if (it->bounded) --bounded_queued_;
      if (const void* group = it->task.group) {
        --groups_[group].queued;
        release(group);
      }
      it = jobs_.erase(it);
    }
    if (due.empty()) continue;
    sweeper_target_ = Clock::time_point::min();  // submit() need not wake us while we answer
    lock.unlock();
    for (const Job& job : due) runGuarded(job);
    lock.lock();
  }
}

}  // namespace kw::server
