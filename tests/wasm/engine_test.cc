// The engine contract, checked on every engine of the build with a probe guest: typed calls both
// ways, traps, the deadline, the memory cap, bad pointers and sharing one compiled module across
// threads.
#include "kw/wasm/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/engines.h"
#include "support/test_env.h"

namespace kw::wasm {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kNever = Clock::time_point::max();

struct ProbeState {
  int64_t last_i64 = 0;
  std::string oob_read;
  bool oob_ok = true;
};

ImportSet probeImports() {
  ImportSet set;
  set.add({"env",
           "host_i64",
           {{ValType::I64}, {ValType::I64}},
           [](Caller& c, std::span<const Value> a) {
             auto* s = static_cast<ProbeState*>(c.hostData());
             s->last_i64 = a[0].i64;
             // An out-of-bounds view must be refused, not crash.
             s->oob_ok = c.read(0xFFFFFFF0ull, 64, s->oob_read);
             return std::vector<Value>{Value::fromI64(a[0].i64 * 10)};
           }});
  set.add(
      {"env", "host_f64", {{ValType::F64}, {ValType::F64}}, [](Caller&, std::span<const Value> a) {
         return std::vector<Value>{Value::fromF64(a[0].f64 + 0.5)};
       }});
  set.add({"env", "host_fail", {{}, {}}, [](Caller& c, std::span<const Value>) {
             c.fail(FailKind::HostError, "host refused");
             return std::vector<Value>{};
           }});
  return set;
}

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<Engine> createEngine(const EngineOptions& options = {}) {
    return test::makeEngine(GetParam(), options);
  }

  void SetUp() override {
    bytes_ = test::readFile(test::testWasmDir() / "engine_probe.wasm");
    ASSERT_FALSE(bytes_.empty());
  }

  InstancePtr make(Engine& engine, ProbeState* state) {
    if (!module_) {
      auto m = engine.compile(bytes_);
      EXPECT_TRUE(m.ok()) << m.error().message;
      module_ = *m;
    }
    InstanceOptions io{&imports_, state};
    auto inst = engine.instantiate(module_, io);
    EXPECT_TRUE(std::holds_alternative<InstancePtr>(inst));
    return std::move(std::get<InstancePtr>(inst));
  }

  std::vector<uint8_t> bytes_;
  ImportSet imports_ = probeImports();
  CompiledModulePtr module_;
};

int32_t i32Of(const CallResult<std::vector<Value>>& r) {
  return std::get<std::vector<Value>>(r).at(0).i32;
}

TEST_P(EngineTest, CallsExportsWithI32AndI64) {
  auto engine = createEngine();
  ProbeState s;
  auto inst = make(*engine, &s);
  Value a[2] = {Value::fromI32(40), Value::fromI32(2)};
  EXPECT_EQ(i32Of(inst->call("add", a, kNever)), 42);
  Value b[2] = {Value::fromI64(int64_t(1) << 40), Value::fromI64(5)};
  auto r = inst->call("add64", b, kNever);
  EXPECT_EQ(std::get<std::vector<Value>>(r).at(0).i64, (int64_t(1) << 40) + 5);
}

TEST_P(EngineTest, HostFunctionsReceiveTypedArgumentsAndState) {
  auto engine = createEngine();
  ProbeState s;
  auto inst = make(*engine, &s);
  Value x[1] = {Value::fromI64(int64_t(3) << 33)};
  auto r = inst->call("call_host", x, kNever);
  EXPECT_EQ(std::get<std::vector<Value>>(r).at(0).i64, (int64_t(3) << 33) * 10 + 1);
  EXPECT_EQ(s.last_i64, int64_t(3) << 33);
  EXPECT_FALSE(s.oob_ok) << "an out-of-bounds read must be refused";
  Value f[1] = {Value::fromF64(1.25)};
  auto rf = inst->call("call_host_f64", f, kNever);
  EXPECT_DOUBLE_EQ(std::get<std::vector<Value>>(rf).at(0).f64, 3.5);
}

TEST_P(EngineTest, HostFailureEndsTheCallWithItsMessage) {
  auto engine = createEngine();
  ProbeState s;
  auto inst = make(*engine, &s);
  auto r = inst->call("call_fail", {}, kNever);
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).kind, FailKind::HostError);
  EXPECT_EQ(std::get<CallError>(r).message, "host refused");
  Value a[2] = {Value::fromI32(1), Value::fromI32(2)};
  EXPECT_EQ(i32Of(inst->call("add", a, kNever)), 3) << "the instance stays usable";
}

TEST_P(EngineTest, TrapsBecomeErrors) {
  auto engine = createEngine();
  ProbeState s;
  auto inst = make(*engine, &s);
  auto r = inst->call("trap", {}, kNever);
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).kind, FailKind::Trap);
  EXPECT_NE(std::get<CallError>(r).message.find("unreachable"), std::string::npos);

  Value oob[1] = {Value::fromI32(int32_t(0xFFFFFFF0u))};
  auto r2 = inst->call("read_at", oob, kNever);
  ASSERT_TRUE(std::holds_alternative<CallError>(r2));
  EXPECT_NE(std::get<CallError>(r2).message.find("out of bounds"), std::string::npos);

  Value deep[1] = {Value::fromI32(10'000'000)};
  auto r3 = inst->call("recurse", deep, kNever);
  ASSERT_TRUE(std::holds_alternative<CallError>(r3));
  EXPECT_EQ(std::get<CallError>(r3).kind, FailKind::Trap);
}

TEST_P(EngineTest, MissingExportIsNotFound) {
  auto engine = createEngine();
  ProbeState s;
  auto inst = make(*engine, &s);
  auto r = inst->call("nope", {}, kNever);
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).kind, FailKind::NotFound);
}

TEST_P(EngineTest, DeadlineStopsAnEndlessLoopPromptly) {
  auto engine = createEngine();
  ProbeState s;
  auto inst = make(*engine, &s);
  auto t0 = Clock::now();
  auto r = inst->call("spin", {}, t0 + std::chrono::milliseconds(50));
  auto elapsed = Clock::now() - t0;
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).kind, FailKind::Timeout);
  EXPECT_EQ(std::get<CallError>(r).message, "guest code interrupted, execution deadline exceeded");
  EXPECT_LT(elapsed, std::chrono::milliseconds(500));
  // The interruption must not leak into the next call on this engine.
  auto fresh = make(*engine, &s);
  Value a[2] = {Value::fromI32(2), Value::fromI32(2)};
  EXPECT_EQ(i32Of(fresh->call("add", a, Clock::now() + std::chrono::seconds(5))), 4);
}

// Deadlines are per call: a short one firing must not stop a concurrent call with a longer one
// (wasmtime's epoch is process-wide, so this is where a shared interrupt would show).
TEST_P(EngineTest, AnotherCallsDeadlineDoesNotStopThisOne) {
  auto engine = createEngine();
  auto m = engine->compile(bytes_);
  ASSERT_TRUE(m.ok());
  std::atomic<bool> long_started{false};
  auto spinFor = [&](std::chrono::milliseconds budget, Clock::duration* took, FailKind* kind,
                     std::atomic<bool>* started = nullptr) {
    ProbeState s;
    InstanceOptions io{&imports_, &s};
    auto inst = engine->instantiate(*m, io);
    if (started) *started = true;  // also on failure, so the other thread never waits forever
    if (!std::holds_alternative<InstancePtr>(inst)) return;
    auto t0 = Clock::now();
    auto r = std::get<InstancePtr>(inst)->call("spin", {}, t0 + budget);
    *took = Clock::now() - t0;
    if (auto* e = std::get_if<CallError>(&r)) *kind = e->kind;
  };
  Clock::duration long_took{}, short_took{};
  FailKind long_kind = FailKind::Trap, short_kind = FailKind::Trap;
  std::thread longer(
      [&] { spinFor(std::chrono::milliseconds(400), &long_took, &long_kind, &long_started); });
  // The short call starts once the long one is about to run, so their deadlines overlap.
  while (!long_started) std::this_thread::yield();
  spinFor(std::chrono::milliseconds(30), &short_took, &short_kind);
  longer.join();
  EXPECT_EQ(short_kind, FailKind::Timeout);
  EXPECT_EQ(long_kind, FailKind::Timeout);
  EXPECT_LT(short_took, std::chrono::milliseconds(300));
  EXPECT_GE(long_took, std::chrono::milliseconds(400));
}

TEST_P(EngineTest, ADeadlineAlreadyPastStopsTheCall) {
  auto engine = createEngine();
  ProbeState s;
  auto inst = make(*engine, &s);
  auto r = inst->call("spin", {}, Clock::now() - std::chrono::milliseconds(1));
  ASSERT_TRUE(std::holds_alternative<CallError>(r));
  EXPECT_EQ(std::get<CallError>(r).kind, FailKind::Timeout);
}

TEST_P(EngineTest, MemoryGrowFailsInsideTheGuestAtTheCap) {
  EngineOptions opts;
  opts.max_memory_bytes = 4 << 20;  // 64 pages
  auto engine = createEngine(opts);
  ProbeState s;
  auto inst = make(*engine, &s);
  int32_t start = i32Of(inst->call("pages", {}, kNever));
  Value ok[1] = {Value::fromI32(64 - start)};
  EXPECT_EQ(i32Of(inst->call("grow", ok, kNever)), start);
  Value more[1] = {Value::fromI32(1)};
  EXPECT_EQ(i32Of(inst->call("grow", more, kNever)), -1);
}

TEST_P(EngineTest, EachInstanceStartsClean) {
  auto engine = createEngine();
  ProbeState s;
  auto first = make(*engine, &s);
  EXPECT_EQ(i32Of(first->call("bump", {}, kNever)), 1);
  EXPECT_EQ(i32Of(first->call("bump", {}, kNever)), 2);
  auto second = make(*engine, &s);
  EXPECT_EQ(i32Of(second->call("bump", {}, kNever)), 1);
}

// Memories are pooled and reused once an instance dies: whatever the old instance wrote, the
// next one must find the zeros a new memory has, and its own data segments re-applied.
TEST_P(EngineTest, RecycledMemoryIsWiped) {
  auto engine = createEngine();
  ProbeState s;
  constexpr uint64_t kScratch = 100 * 1024;  // past the data segments, inside the first pages
  for (int round = 0; round < 3; ++round) {
    auto inst = make(*engine, &s);
    std::string before;
    ASSERT_TRUE(inst->caller().read(kScratch, 64, before));
    EXPECT_EQ(before, std::string(64, '\0')) << "round " << round;
    EXPECT_EQ(i32Of(inst->call("bump", {}, kNever)), 1) << "round " << round;
    ASSERT_TRUE(inst->caller().write(kScratch, std::string(64, 'x')));
    EXPECT_EQ(i32Of(inst->call("bump", {}, kNever)), 2);
  }
}

// A memory that grew cannot be reused (a fresh one starts at its declared size), and the
// next instance must still see the declared size.
TEST_P(EngineTest, GrownMemoryIsNotReused) {
  auto engine = createEngine();
  ProbeState s;
  int32_t initial = 0;
  {
    auto inst = make(*engine, &s);
    initial = i32Of(inst->call("pages", {}, kNever));
    Value one[1] = {Value::fromI32(3)};
    EXPECT_EQ(i32Of(inst->call("grow", one, kNever)), initial);
  }
  auto next = make(*engine, &s);
  EXPECT_EQ(i32Of(next->call("pages", {}, kNever)), initial);
}

// Grown memories are not pooled; V8 collects the dead instances that hold them every few dozen
// (kDeadInstanceBudget), so this crosses that collection several times, and each instance
// must still start from its pristine size.
TEST_P(EngineTest, ManyGrownInstancesInARowEachStartPristine) {
  auto engine = createEngine();
  ProbeState s;
  int32_t initial = -1;
  for (int i = 0; i < 150; ++i) {
    auto inst = make(*engine, &s);
    ASSERT_TRUE(inst);
    int32_t pages = i32Of(inst->call("pages", {}, kNever));
    if (initial < 0) initial = pages;
    ASSERT_EQ(pages, initial) << "instance " << i;
    Value one[1] = {Value::fromI32(2)};
    ASSERT_EQ(i32Of(inst->call("grow", one, kNever)), initial) << "instance " << i;
  }
}

TEST_P(EngineTest, RefusesBytesThatAreNotWasm) {
  auto engine = createEngine();
  std::vector<uint8_t> junk = {'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0};
  auto m = engine->compile(junk);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("not a WebAssembly module"), std::string::npos);
  auto broken = bytes_;
  broken.resize(broken.size() / 2);
  auto m2 = engine->compile(broken);
  ASSERT_FALSE(m2.ok());
}

TEST_P(EngineTest, MissingImportIsAnInstantiationError) {
  auto engine = createEngine();
  auto m = engine->compile(bytes_);
  ASSERT_TRUE(m.ok());
  ImportSet empty;
  InstanceOptions io{&empty, nullptr};
  auto inst = engine->instantiate(*m, io);
  ASSERT_TRUE(std::holds_alternative<CallError>(inst));
  EXPECT_EQ(std::get<CallError>(inst).kind, FailKind::Instantiate);
  EXPECT_NE(std::get<CallError>(inst).message.find("host_i64"), std::string::npos);
}

TEST_P(EngineTest, OneCompiledModuleServesManyThreads) {
  auto engine = createEngine();
  auto m = engine->compile(bytes_);
  ASSERT_TRUE(m.ok());
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ProbeState s;
        InstanceOptions io{&imports_, &s};
        auto inst = engine->instantiate(*m, io);
        if (!std::holds_alternative<InstancePtr>(inst)) return;
        Value a[2] = {Value::fromI32(t), Value::fromI32(i)};
        auto r =
            std::get<InstancePtr>(inst)->call("add", a, Clock::now() + std::chrono::seconds(5));
        if (std::holds_alternative<std::vector<Value>>(r) &&
            std::get<std::vector<Value>>(r).at(0).i32 == t + i) {
          ++good;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 800);
}

KW_INSTANTIATE_FOR_ENGINES(EngineTest);

#if defined(KW_WITH_WASMTIME)
// Policies fail with the engine's text in their responses, so every engine must say the same.
TEST(EngineParity, FailuresReadTheSameOnEveryEngine) {
  auto names = test::engineNames();
  ASSERT_GE(names.size(), 2u) << "this build was configured with wasmtime beside V8";
  auto bytes = test::readFile(test::testWasmDir() / "engine_probe.wasm");
  ImportSet imports = probeImports();
  auto messages = [&](const std::string& name) {
    std::vector<std::string> out;
    auto engine = test::makeEngine(name);
    auto m = engine->compile(bytes);
    if (!m) return out;
    // Each call gets a fresh instance, as each request does: a trap leaves the guest's globals
    // (its shadow stack pointer after `recurse`) where it stopped, and the next call on the
    // same instance would then fail for that reason instead of its own.
    auto failure = [&](const char* export_name, std::span<const Value> args,
                       std::chrono::milliseconds budget) {
      ProbeState s;
      InstanceOptions io{&imports, &s};
      auto inst = engine->instantiate(*m, io);
      if (!std::holds_alternative<InstancePtr>(inst)) return std::string("no instance");
      auto deadline = budget.count() ? Clock::now() + budget : kNever;
      auto r = std::get<InstancePtr>(inst)->call(export_name, args, deadline);
      auto* e = std::get_if<CallError>(&r);
      return e ? std::string(toString(e->kind)) + ": " + e->message : std::string("no error");
    };
    Value oob[1] = {Value::fromI32(int32_t(0xFFFFFFF0u))};
    Value deep[1] = {Value::fromI32(10'000'000)};
    const std::chrono::milliseconds none{0};
    out.push_back(failure("trap", {}, none));
    out.push_back(failure("read_at", oob, none));
    out.push_back(failure("recurse", deep, none));
    out.push_back(failure("call_fail", {}, none));
    out.push_back(failure("spin", {}, std::chrono::milliseconds(20)));
    out.push_back(failure("nope", {}, none));
    return out;
  };
  auto reference = messages(names[0]);
  ASSERT_EQ(reference.size(), 6u);
  for (size_t k = 1; k < names.size(); ++k) {
    EXPECT_EQ(messages(names[k]), reference) << names[k] << " against " << names[0];
  }
}
#endif  // KW_WITH_WASMTIME

}  // namespace
}  // namespace kw::wasm
