// One process-wide thread that interrupts guest calls at their deadline. A call arms a ticket
// with an interrupt function (for V8: isolate->TerminateExecution) and disarms it when the call
// returns. Disarm is synchronised with firing, so once disarm() returns the interrupt can no
// longer be delivered; it reports whether it already was, so the engine can cancel it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace kw::wasm {

class DeadlineWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  using Ticket = uint64_t;

  static DeadlineWatchdog& instance();

  // The interrupt runs on the watchdog thread, under the watchdog's lock.
  Ticket arm(Clock::time_point deadline, std::function<void()> interrupt);
  // Returns true when the interrupt had already fired for this ticket.
  bool disarm(Ticket ticket);

  ~DeadlineWatchdog();

 private:
  DeadlineWatchdog();
  void loop();

  struct Entry {
    Clock::time_point deadline;
    std::function<void()> interrupt;
    bool fired = false;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Ticket, Entry> entries_;
  Ticket next_ = 1;
  bool stop_ = false;
  // What the watchdog thread sleeps until; arm() only wakes it for an earlier deadline, so a
  // steady stream of calls does not cost a context switch each.
  Clock::time_point waiting_until_ = Clock::time_point::max();
  std::thread thread_;
};

}  // namespace kw::wasm
