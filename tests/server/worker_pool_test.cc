// The evaluation pool's overload protection (issue #15): the bounded queue refuses at once and
// recovers, a task whose deadline passes while queued is expired without running (even with
// every worker busy), one group cannot take more than its share of the threads or the queue,
// and shutdown drains everything, group-blocked tasks included.
#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>

#include "support/cluster_env.h"

namespace kw::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Admission = WorkerPool::Admission;

constexpr auto kPatience = 10s;  // a broken pool fails the test instead of hanging it

// A job that holds its thread until released, and says when it has started. The job shares
// its state rather than pointing into the Blocker: a test may end, and destroy the Blocker, while
// the released job is still returning from its wait (ASan saw that use after free).
class Blocker {
 public:
  WorkerPool::Job job() {
    return [state = state_] {
      state->started.set_value();
      state->released.wait();
    };
  }
  bool waitStarted() {
    return state_->started_future.wait_for(kPatience) == std::future_status::ready;
  }
  void release() {
    if (!state_->release_once.exchange(true)) state_->release.set_value();
  }
  ~Blocker() { release(); }

 private:
  struct State {
    std::promise<void> started, release;
    std::future<void> started_future = started.get_future();
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> release_once{false};
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// A task that records which of its two callbacks ran. The callbacks share the promise, as the
// Blocker's job does, so a Probe may go away while a worker is still leaving its callback.
struct Probe {
  std::shared_ptr<std::promise<std::string>> outcome =
      std::make_shared<std::promise<std::string>>();
  std::future<std::string> future = outcome->get_future();

  WorkerPool::Task task(const void* group = nullptr,
                        Clock::time_point deadline = Clock::time_point::max()) {
    return WorkerPool::Task{[o = outcome] { o->set_value("ran"); },
                            [o = outcome] { o->set_value("expired"); }, deadline, group};
  }
  std::string wait() {
    if (future.wait_for(kPatience) != std::future_status::ready) return "no answer";
    return future.get();
  }
  bool ready() const { return future.wait_for(0s) == std::future_status::ready; }
};

TEST(WorkerPoolTest, FullQueueRefusesAtOnceAndRecovers) {
  WorkerPool pool(PoolOptions{1, 2, 0});
  Blocker blocker;
  ASSERT_TRUE(pool.submit(blocker.job()));
  ASSERT_TRUE(blocker.waitStarted());

  Probe a, b, c;
  EXPECT_EQ(pool.submit(a.task()), Admission::kQueued);
  EXPECT_EQ(pool.submit(b.task()), Admission::kQueued);
  EXPECT_EQ(pool.submit(c.task()), Admission::kQueueFull);
  auto stats = pool.stats();
  EXPECT_EQ(stats.queued, 2u);
  EXPECT_EQ(stats.max_queued, 2u);

  blocker.release();
  EXPECT_EQ(a.wait(), "ran");
  EXPECT_EQ(b.wait(), "ran");
  EXPECT_FALSE(c.ready()) << "a refused task runs neither callback";

  Probe d;
  EXPECT_EQ(pool.submit(d.task()), Admission::kQueued) << "room again once the burst is over";
  EXPECT_EQ(d.wait(), "ran");
}

TEST(WorkerPoolTest, TaskPastItsDeadlineIsExpiredWhileEveryWorkerIsBusy) {
  WorkerPool pool(1);
  Blocker blocker;
  ASSERT_TRUE(pool.submit(blocker.job()));
  ASSERT_TRUE(blocker.waitStarted());

  Probe late, patient;
  auto submitted = Clock::now();
  ASSERT_EQ(pool.submit(late.task(nullptr, submitted + 150ms)), Admission::kQueued);
  ASSERT_EQ(pool.submit(patient.task()), Admission::kQueued);
  // The only worker is still blocked: the answer comes from the deadline, not from a worker.
  EXPECT_EQ(late.wait(), "expired");
  EXPECT_GE(Clock::now() - submitted, 150ms);
  EXPECT_FALSE(patient.ready());
  EXPECT_EQ(pool.stats().queued, 1u);

  blocker.release();
  EXPECT_EQ(patient.wait(), "ran");
}

TEST(WorkerPoolTest, ExpiredTaskIsNotRunWhenAWorkerPicksItUpLate) {
  WorkerPool pool(1);
  Blocker blocker;
  ASSERT_TRUE(pool.submit(blocker.job()));
  ASSERT_TRUE(blocker.waitStarted());
  Probe late;
  ASSERT_EQ(pool.submit(late.task(nullptr, Clock::now())), Admission::kQueued);
  blocker.release();
  EXPECT_EQ(late.wait(), "expired");
}

TEST(WorkerPoolTest, OneGroupCannotTakeEveryWorker) {
  WorkerPool pool(PoolOptions{2, 0, 0});  // at most ceil(2/2) = 1 per group
  EXPECT_EQ(pool.stats().max_per_group, 1u);
  int slow_group = 0, other_group = 0;

  std::promise<void> first_started, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> slow_ran{0};
  auto slow = [&] {
    if (slow_ran++ == 0) first_started.set_value();
    released.wait();
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(pool.submit(WorkerPool::Task{slow, {}, Clock::time_point::max(), &slow_group}),
              Admission::kQueued);
  }
  ASSERT_EQ(first_started.get_future().wait_for(kPatience), std::future_status::ready);

  Probe other;
  ASSERT_EQ(pool.submit(other.task(&other_group)), Admission::kQueued);
  EXPECT_EQ(other.wait(), "ran") << "the second worker stays free for other groups";
  EXPECT_EQ(slow_ran.load(), 1);
  // `other` answered from inside its task; its worker is counted free once the task returns.
  EXPECT_TRUE(test::waitFor([&] { return pool.stats().busy == 1; }, kPatience));
  EXPECT_EQ(pool.stats().queued, 2u);

  release.set_value();
  pool.shutdown();  // drains the group-blocked tasks instead of hanging
  EXPECT_EQ(slow_ran.load(), 3);
}

TEST(WorkerPoolTest, OneGroupHoldsOnlyItsShareOfTheQueue) {
  // 2 threads, 1 per group: a group may hold half the queue (2 of 4).
  WorkerPool pool(PoolOptions{2, 4, 1});
  Blocker b1, b2;
  ASSERT_TRUE(pool.submit(b1.job()));
  ASSERT_TRUE(pool.submit(b2.job()));
  ASSERT_TRUE(b1.waitStarted());
  ASSERT_TRUE(b2.waitStarted());

  int flood = 0, other = 0;
  Probe f1, f2, f3, o1, o2, o3;
  EXPECT_EQ(pool.submit(f1.task(&flood)), Admission::kQueued);
  EXPECT_EQ(pool.submit(f2.task(&flood)), Admission::kQueued);
  EXPECT_EQ(pool.submit(f3.task(&flood)), Admission::kGroupQueueFull);
  EXPECT_EQ(pool.submit(o1.task(&other)), Admission::kQueued);
  EXPECT_EQ(pool.submit(o2.task(&other)), Admission::kQueued);
  EXPECT_EQ(pool.submit(o3.task(&other)), Admission::kQueueFull);

  b1.release();
  b2.release();
  for (Probe* p : {&f1, &f2, &o1, &o2}) EXPECT_EQ(p->wait(), "ran");
}

TEST(WorkerPoolTest, ShutdownAnswersEveryQueuedTaskAndRefusesNewOnes) {
  WorkerPool pool(PoolOptions{1, 8, 0});
  Blocker blocker;
  ASSERT_TRUE(pool.submit(blocker.job()));
  ASSERT_TRUE(blocker.waitStarted());
  Probe queued, expired;
  ASSERT_EQ(pool.submit(queued.task()), Admission::kQueued);
  ASSERT_EQ(pool.submit(expired.task(nullptr, Clock::now() + 50ms)), Admission::kQueued);
  EXPECT_EQ(expired.wait(), "expired");
  std::thread stopper([&] { pool.shutdown(); });
  auto noop = WorkerPool::Task{[] {}, [] {}, Clock::time_point::max(), nullptr};
  ASSERT_TRUE(test::waitFor([&] { return pool.submit(noop) == Admission::kStopping; }, kPatience));
  blocker.release();
  stopper.join();
  EXPECT_EQ(queued.wait(), "ran");
}

}  // namespace
}  // namespace kw::server
