#include "controller/work_queue.h"

#include <algorithm>

namespace kw::controller {

void WorkQueue::enqueueLocked(const std::string& key) {
  if (shutting_down_ || dirty_.contains(key)) return;
  dirty_.insert(key);
  ++stats_.adds;
  // A key being processed is queued again by done(), so two workers never hold it together.
  if (processing_.contains(key)) return;
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  enqueueLocked(key);
}

void WorkQueue::addUrgent(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (!dirty_.contains(key)) {
    dirty_.insert(key);
    ++stats_.adds;
  } else if (!processing_.contains(key)) {
    std::erase(queue_, key);  // waiting already: only its place changes
  }
  if (processing_.contains(key)) {
    urgent_.insert(key);  // done() puts it in front
    return;
  }
  queue_.push_front(key);
  cv_.notify_one();
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds::zero()) return add(key);
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  auto when = Clock::now() + delay;
  if (auto it = delayed_at_.find(key); it != delayed_at_.end()) {
    if (it->second <= when) return;
    auto range = delayed_.equal_range(it->second);
    for (auto d = range.first; d != range.second; ++d)
      if (d->second == key) {
        delayed_.erase(d);
        break;
      }
  }
  delayed_.emplace(when, key);
  delayed_at_[key] = when;
  cv_.notify_all();  // a waiter may need to wake earlier than it planned
}

void WorkQueue::addRateLimited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    int n = failures_[key]++;
    ++stats_.retries;
    auto d = backoff_.base * (int64_t{1} << std::min(n, 30));
    delay = std::min<std::chrono::milliseconds>(d, backoff_.max);
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promoteDueLocked(Clock::time_point now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    delayed_at_.erase(key);
    enqueueLocked(key);
  }
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (shutting_down_) return std::nullopt;
    promoteDueLocked(Clock::now());
    if (!queue_.empty()) break;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      // A copy: wait_until reads its deadline again after waking, and by then addAfter may
      // have erased the entry this would otherwise refer to.
      const Clock::time_point wake = delayed_.begin()->first;
      cv_.wait_until(lock, wake);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  bool urgent = urgent_.erase(key) > 0;
  if (dirty_.contains(key) && !shutting_down_) {
    if (urgent)
      queue_.push_front(key);
    else
      queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::shutdown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

WorkQueue::Stats WorkQueue::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.depth = queue_.size();
  s.delayed = delayed_.size();
  return s;
}

}  // namespace kw::controller
