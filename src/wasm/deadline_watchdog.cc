#include "wasm/deadline_watchdog.h"

namespace kw::wasm {

DeadlineWatchdog& DeadlineWatchdog::instance() {
  static DeadlineWatchdog w;
  return w;
}

DeadlineWatchdog::DeadlineWatchdog() : thread_([this] { loop(); }) {}

DeadlineWatchdog::~DeadlineWatchdog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

DeadlineWatchdog::Ticket DeadlineWatchdog::arm(Clock::time_point deadline,
                                               std::function<void()> interrupt) {
  std::lock_guard lock(mu_);
  Ticket t = next_++;
  entries_.emplace(t, Entry{deadline, std::move(interrupt)});
  if (deadline < waiting_until_) {
    waiting_until_ = deadline;
    cv_.notify_all();
  }
  return t;
}

bool DeadlineWatchdog::disarm(Ticket ticket) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(ticket);
  if (it == entries_.end()) return false;
  bool fired = it->second.fired;
  entries_.erase(it);
  return fired;
}

void DeadlineWatchdog::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto next = Clock::time_point::max();
    auto now = Clock::now();
    for (auto& [ticket, e] : entries_) {
      if (e.fired) continue;
      if (e.deadline <= now) {
        e.fired = true;
        e.interrupt();
      } else if (e.deadline < next) {
        next = e.deadline;
      }
    }
    waiting_until_ = next;
    if (next == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, next);
    }
  }
}

}  // namespace kw::wasm
