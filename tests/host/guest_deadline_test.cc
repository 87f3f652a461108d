// The evaluation's deadline reaches the dispatcher from waPC and WASI guests, and a host call
// that outlives it is abandoned: the guest gets an error and the evaluation ends.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "host/capability_dispatcher.h"
#include "host/live_handler.h"
#include "kw/wasm/engine.h"
#include "policy/evaluator.h"
#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::host {
namespace {

using nlohmann::json;

std::shared_ptr<wasm::Engine> engine() {
  static auto e = wasm::createV8Engine({wasm::CompileTier::Optimized, 256ull << 20});
  return e;
}

policy::PolicyConfig guest(const std::string& name, const std::string& settings) {
  policy::PolicyConfig c;
  c.id = name;
  auto bytes = kw::test::readFile(kw::test::guestPath(name));
  auto loaded = policy::loadModule(*engine(), bytes);
  EXPECT_TRUE(loaded) << name << ": " << (loaded ? "" : loaded.error().message);
  if (loaded) c.module = *loaded;
  if (loaded && (*loaded)->metadata) c.mode = (*loaded)->metadata->executionMode;
  c.settings_json = settings;
  return c;
}

const char* kPod =
    R"({"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",)"
    R"("namespace":"default","object":{"metadata":{"name":"p"},"spec":{"containers":[]}}})";

class DeadlineCapture : public Dispatcher {
 public:
  Result<std::string> dispatch(const HostCall& call) override {
    std::lock_guard lock(mu_);
    deadlines_.push_back(call.deadline);
    return std::string("{}");
  }
  std::vector<std::chrono::steady_clock::time_point> deadlines() {
    std::lock_guard lock(mu_);
    return deadlines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> deadlines_;
};

class HostGuestDeadline : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* g : {"host_echo", "wasi_host_call"}) {
      if (!std::filesystem::exists(kw::test::guestPath(g)))
        KW_CANT_RUN() << "guest " << g << " not built";
    }
  }
};

TEST_F(HostGuestDeadline, WapcAndWasiHandTheDeadlineToTheDispatcher) {
  DeadlineCapture capture;
  policy::Evaluator evaluator(engine(), &capture, std::chrono::seconds(30));
  auto before = std::chrono::steady_clock::now();
  evaluator.validate(guest("host_echo", R"({"a":1})"), {kPod, "u1"});
  auto wasi = guest("wasi_host_call", R"({"a":1})");
  wasi.mode = policy::ExecutionMode::Wasi;  // our test guest carries no metadata
  evaluator.validate(wasi, {kPod, "u1"});
  auto after = std::chrono::steady_clock::now();
  auto seen = capture.deadlines();
  ASSERT_EQ(seen.size(), 2u);
  for (auto d : seen) {
    EXPECT_GE(d, before + std::chrono::seconds(30));
    EXPECT_LE(d, after + std::chrono::seconds(30));
  }
  DeadlineCapture unbounded;
  policy::Evaluator no_timeout(engine(), &unbounded, std::nullopt);
  no_timeout.validate(guest("host_echo", "{}"), {kPod, "u1"});
  ASSERT_EQ(unbounded.deadlines().size(), 1u);
  EXPECT_EQ(unbounded.deadlines()[0], std::chrono::steady_clock::time_point::max());
}

TEST_F(HostGuestDeadline, AHostCallPastTheDeadlineIsAbandoned) {
  if (!std::filesystem::exists(kw::test::guestPath("host_caller"))) {
    KW_CANT_RUN() << "guest host_caller not built";
  }
  auto release = std::make_shared<std::atomic<bool>>(false);
  LiveServices s;
  s.dns_lookup = [release](const std::string&) -> Result<std::vector<std::string>> {
    while (!*release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return std::vector<std::string>{"10.0.0.1"};
  };
  DispatcherOptions o;
  o.handler = std::make_shared<LiveHandler>(std::move(s));
  o.pool = std::make_shared<TaskPool>(1);
  CapabilityDispatcher d(std::move(o));
  policy::Evaluator evaluator(engine(), &d, std::chrono::milliseconds(300));
  auto policy = guest("host_caller", R"({"binding":"kubewarden","namespace":"net",)"
                                     R"("operation":"v1/dns_lookup_host","payload":"slow"})");
  auto r = evaluator.validate(policy, {kPod, "u1"});
  EXPECT_EQ(r["allowed"], false) << r.dump();
  std::string message = r["status"]["message"].get<std::string>();
  // The guest either reports the abandoned call or is stopped by its own deadline right after.
  EXPECT_TRUE(message.find("abandoned: the policy's deadline passed") != std::string::npos ||
              message.find("deadline") != std::string::npos)
      << message;
  *release = true;  // the late answer arrives after the evaluation and is dropped
}

}  // namespace
}  // namespace kw::host
