#include "controller/work_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace kw::controller {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueue, DeduplicatesKeysWaitingToBeProcessed) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.stats().depth, 2u);
  EXPECT_EQ(q.stats().adds, 2u);
  EXPECT_EQ(*q.get(), "a");
  EXPECT_EQ(*q.get(), "b");
  EXPECT_EQ(q.stats().depth, 0u);
}

TEST(WorkQueue, AKeyAddedWhileProcessedComesBackAfterDoneOnly) {
  WorkQueue q;
  q.add("a");
  auto key = q.get();
  ASSERT_EQ(*key, "a");
  q.add("a");  // an event while a worker holds "a"
  EXPECT_EQ(q.stats().depth, 0u) << "must not be handed to a second worker";
  q.done("a");
  EXPECT_EQ(q.stats().depth, 1u);
  EXPECT_EQ(*q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.stats().depth, 0u);
}

TEST(WorkQueue, UrgentKeysGoAheadOfWaitingOnesWithoutDuplicates) {
  WorkQueue q;
  for (const char* k : {"a", "b", "c"}) q.add(k);
  q.addUrgent("c");  // already waiting: moves to the front, still once
  q.addUrgent("d");  // new: in front of everything
  EXPECT_EQ(q.stats().depth, 4u);
  EXPECT_EQ(q.stats().adds, 4u);
  for (const char* want : {"d", "c", "a", "b"}) {
    auto key = q.get();
    ASSERT_TRUE(key);
    EXPECT_EQ(*key, want);
    q.done(*key);
  }
  EXPECT_EQ(q.stats().depth, 0u);
}

TEST(WorkQueue, AnUrgentKeyHeldByAWorkerComesBackFirstAfterDone) {
  WorkQueue q;
  q.add("a");
  auto held = q.get();
  ASSERT_EQ(*held, "a");
  q.add("b");
  q.addUrgent("a");
  EXPECT_EQ(q.stats().depth, 1u) << "must not be handed to a second worker";
  q.done("a");
  EXPECT_EQ(*q.get(), "a");
  EXPECT_EQ(*q.get(), "b");
}

TEST(WorkQueue, AddAfterDelaysAndKeepsTheEarliestSchedule) {
  WorkQueue q;
  auto start = std::chrono::steady_clock::now();
  q.addAfter("late", 5000ms);
  q.addAfter("late", 80ms);  // earlier wins
  q.addAfter("late", 3000ms);
  EXPECT_EQ(q.stats().delayed, 1u);
  EXPECT_EQ(q.stats().depth, 0u);
  auto key = q.get();
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(*key, "late");
  EXPECT_GE(waited, 80ms);
  EXPECT_LT(waited, 2000ms);
}

TEST(WorkQueue, ImmediateAddIsNotHeldBackByADelayedCopy) {
  WorkQueue q;
  q.addAfter("a", 10s);
  q.add("a");
  EXPECT_EQ(*q.get(), "a");
}

TEST(WorkQueue, RateLimitedRetriesBackOffExponentiallyUntilForgotten) {
  WorkQueue q(WorkQueue::Backoff{10ms, 40ms});
  EXPECT_EQ(q.failures("k"), 0);
  for (int i = 0; i < 4; ++i) {
    q.addRateLimited("k");
    ASSERT_EQ(*q.get(), "k");
    q.done("k");
  }
  EXPECT_EQ(q.failures("k"), 4);
  EXPECT_EQ(q.stats().retries, 4u);
  // The fourth wait was capped at 40 ms, not 80 ms: a fifth retry arrives within that bound.
  auto start = std::chrono::steady_clock::now();
  q.addRateLimited("k");
  ASSERT_EQ(*q.get(), "k");
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 40ms);
  EXPECT_LT(waited, 1000ms);
  q.done("k");
  q.forget("k");
  EXPECT_EQ(q.failures("k"), 0);
}

TEST(WorkQueue, ShutdownWakesBlockedWorkers) {
  WorkQueue q;
  auto waiter = std::async(std::launch::async, [&] { return q.get(); });
  EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout) << "get() must block while empty";
  q.shutdown();
  EXPECT_FALSE(waiter.get().has_value());
  q.add("x");
  EXPECT_FALSE(q.get().has_value());
}

TEST(WorkQueue, ADelayedKeyWakesAWorkerAlreadyWaiting) {
  WorkQueue q;
  auto waiter = std::async(std::launch::async, [&] { return q.get(); });
  EXPECT_EQ(waiter.wait_for(30ms), std::future_status::timeout);
  q.addAfter("soon", 50ms);
  ASSERT_EQ(waiter.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(*waiter.get(), "soon");
}

// A worker waiting for the earliest delayed key must not hold on to that entry: rescheduling the
// key earlier removes it, and the worker still read its time after waking (a use after free that
// `make test-asan` found in the controller). The worker gets the key at its new, earlier time.
TEST(WorkQueue, RescheduleEarlierWhileAWorkerWaitsForTheOldTime) {
  WorkQueue q;
  q.addAfter("k", 10s);
  auto waiter = std::async(std::launch::async, [&] { return q.get(); });
  EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout) << "nothing is due yet";
  q.addAfter("k", 20ms);
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready) << "the earlier time must wake it";
  EXPECT_EQ(*waiter.get(), "k");
}

}  // namespace
}  // namespace kw::controller
