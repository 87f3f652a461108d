// The pooling allocator's size follows the address space there is: with a limit on it (ulimit -v,
// a container's RLIMIT_AS, ThreadSanitizer's layout) the engine starts with a smaller pool, or
// with none, where wasmtime alone would abort the process while reserving 4 TiB.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "http/process_metrics.h"
#include "support/engines.h"
#include "support/test_env.h"
#include "wasm/wasmtime/wt_pool_size.h"

namespace kw::wasm {
namespace {

constexpr size_t kGiB = size_t(1) << 30;

wt::CanReserve budgetOf(size_t bytes, std::vector<size_t>* asked = nullptr) {
  return [bytes, asked](size_t n) {
    if (asked) asked->push_back(n);
    return n <= bytes;
  };
}

TEST(PoolSize, TakesEverySlotWantedWhenTheyFit) {
  EXPECT_EQ(wt::poolSlotsThatFit(1000, 32, 4 * kGiB, budgetOf(4000 * kGiB)), 1000u);
}

TEST(PoolSize, HalvesTheSlotsUntilTheyFit) {
  std::vector<size_t> asked;
  EXPECT_EQ(wt::poolSlotsThatFit(1000, 32, 4 * kGiB, budgetOf(1200 * kGiB, &asked)), 250u);
  EXPECT_EQ(asked, (std::vector<size_t>{4000 * kGiB, 2000 * kGiB, 1000 * kGiB}));
}

TEST(PoolSize, NoPoolWhenNotEvenTheMinimumFits) {
  std::vector<size_t> asked;
  EXPECT_EQ(wt::poolSlotsThatFit(1000, 32, 4 * kGiB, budgetOf(100 * kGiB, &asked)), 0u);
  // 1000, 500, 250, 125, 62: the next halving (31) is below the minimum and is not tried.
  EXPECT_EQ(asked.size(), 5u);
}

TEST(PoolSize, ASizeThatOverflowsIsNoFit) {
  std::vector<size_t> asked;
  const size_t huge = std::numeric_limits<size_t>::max() / 100;
  EXPECT_EQ(wt::poolSlotsThatFit(1000, 32, huge, budgetOf(SIZE_MAX, &asked)), 62u);
  EXPECT_EQ(asked.size(), 1u);  // 1000, 500, 250 and 125 slots overflow and are skipped
}

TEST(PoolSize, TheProbeTellsAMappableSizeFromAnImpossibleOne) {
  EXPECT_TRUE(wt::canReserveAddressSpace(kGiB));
  EXPECT_FALSE(wt::canReserveAddressSpace(size_t(1) << 62));  // beyond any x86-64 address space
}

// The address space this process has mapped so far (the process metrics' VirtualMemory).
size_t mappedBytes() {
  auto stats = http::readProcessStats();
  return stats ? stats->virtual_bytes : 0;
}

// Runs in a child process (a death-test statement): limits the address space to what is mapped
// plus `headroom`, then creates the process's wasmtime engine and runs a module. Exits 0 when
// the module ran and the pool's size is what `expect_pool` says, 1-3 otherwise; an abort in
// wasmtime fails the parent's exit-code check.
void runWithAddressSpaceHeadroom(size_t headroom, bool expect_pool) {
  auto bytes = test::readFile(test::testWasmDir() / "engine_probe.wasm");
  const size_t limit = mappedBytes() + headroom;
  rlimit rl{limit, limit};
  if (bytes.empty() || mappedBytes() == 0 || setrlimit(RLIMIT_AS, &rl) != 0) std::_Exit(1);
  auto engine = test::makeEngine("wasmtime", EngineOptions{});
  if (!test::runProbeAdd(*engine, bytes).empty()) std::_Exit(2);
  const uint32_t slots = wt::poolSlotsInUse();
  const bool pooled_as_expected = expect_pool ? (slots > 0 && slots < 1000) : slots == 0;
  std::_Exit(pooled_as_expected ? 0 : 3);
}

class PoolSizeUnderLimit : public ::testing::Test {
 protected:
  // Each statement runs in a new process (re-executed, not forked), so the engine it creates is
  // the first one there.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(PoolSizeUnderLimit, ASmallerPoolWhenTheAddressSpaceIsShort) {
  // 300 GiB: room for 62 slots (the next halving of 1000 that fits), not for 1000.
  EXPECT_EXIT(runWithAddressSpaceHeadroom(300 * kGiB, true), ::testing::ExitedWithCode(0), "");
}

TEST_F(PoolSizeUnderLimit, NoPoolWhenEvenTheSmallestDoesNotFit) {
  // 40 GiB: not 32 slots, but room for one instance allocated on its own.
  EXPECT_EXIT(runWithAddressSpaceHeadroom(40 * kGiB, false), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace kw::wasm
