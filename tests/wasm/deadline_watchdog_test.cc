#include "wasm/deadline_watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace kw::wasm {
namespace {

using Clock = std::chrono::steady_clock;

TEST(DeadlineWatchdog, FiresAtTheDeadline) {
  std::atomic<bool> fired{false};
  auto t0 = Clock::now();
  auto ticket = DeadlineWatchdog::instance().arm(t0 + std::chrono::milliseconds(20),
                                                 [&] { fired = true; });
  while (!fired && Clock::now() - t0 < std::chrono::seconds(2)) std::this_thread::yield();
  EXPECT_TRUE(fired.load());
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(20));
  EXPECT_TRUE(DeadlineWatchdog::instance().disarm(ticket));
}

TEST(DeadlineWatchdog, DisarmedTicketsNeverFire) {
  std::atomic<int> fired{0};
  for (int i = 0; i < 100; ++i) {
    auto t = DeadlineWatchdog::instance().arm(Clock::now() + std::chrono::milliseconds(30),
                                              [&] { ++fired; });
    EXPECT_FALSE(DeadlineWatchdog::instance().disarm(t));
  }
  // The watchdog fires in deadline order: once a later ticket has fired, any of the disarmed
  // ones would have fired before it.
  std::atomic<bool> sentinel{false};
  DeadlineWatchdog::instance().arm(Clock::now() + std::chrono::milliseconds(40),
                                   [&] { sentinel = true; });
  auto t0 = Clock::now();
  while (!sentinel && Clock::now() - t0 < std::chrono::seconds(5)) std::this_thread::yield();
  ASSERT_TRUE(sentinel.load());
  EXPECT_EQ(fired.load(), 0);
}

TEST(DeadlineWatchdog, AnEarlierDeadlineWakesTheWatchdog) {
  std::atomic<bool> late{false}, early{false};
  auto far = DeadlineWatchdog::instance().arm(Clock::now() + std::chrono::seconds(30),
                                              [&] { late = true; });
  auto t0 = Clock::now();
  auto near = DeadlineWatchdog::instance().arm(t0 + std::chrono::milliseconds(10),
                                               [&] { early = true; });
  while (!early && Clock::now() - t0 < std::chrono::seconds(2)) std::this_thread::yield();
  EXPECT_TRUE(early.load());
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_FALSE(late.load());
  DeadlineWatchdog::instance().disarm(far);
  DeadlineWatchdog::instance().disarm(near);
}

}  // namespace
}  // namespace kw::wasm
