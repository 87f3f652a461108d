// The waPC host protocol on its own (spec §2.2): WapcInstance driven directly on our guests,
// without the Kubewarden evaluator on top, so protocol state, guest errors and engine failures
// are checked where they arise.
#include "wapc/wapc_host.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace kw::wapc {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// A module importing env.foo: ()->(), which no waPC host provides.
const std::vector<uint8_t> kImportsUnknown = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                              // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                                          // type 0: () -> ()
    0x02, 0x0b, 0x01, 0x03, 'e',  'n',  'v',  0x03, 'f', 'o', 'o', 0x00, 0x00};  // import func
// The empty module: instantiates fine, exports nothing.
const std::vector<uint8_t> kEmptyModule = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

class RecordingDispatcher : public host::Dispatcher {
 public:
  Result<std::string> dispatch(const host::HostCall& c) override {
    calls.push_back({std::string(c.policy_id), std::string(c.binding), std::string(c.ns),
                     std::string(c.operation), std::string(c.payload)});
    if (fail_with) return makeError(*fail_with);
    return "echo:" + std::string(c.payload);
  }
  std::vector<std::vector<std::string>> calls;
  std::optional<std::string> fail_with;
};

class WapcHostTest : public ::testing::Test {
 protected:
  static wasm::Engine& engine() {
    static auto e = wasm::createV8Engine({wasm::CompileTier::Optimized, 256ull << 20});
    return *e;
  }

  static wasm::CompiledModulePtr compile(const std::vector<uint8_t>& bytes) {
    auto m = engine().compile(bytes);
    EXPECT_TRUE(m.ok()) << (m ? "" : m.error().message);
    return m ? *m : nullptr;
  }

  static wasm::CompiledModulePtr guest(const std::string& name) {
    static std::map<std::string, wasm::CompiledModulePtr> cache;
    auto& slot = cache[name];
    if (!slot) slot = compile(test::readFile(test::guestPath(name)));
    return slot;
  }

  static std::unique_ptr<WapcInstance> create(const std::string& name,
                                              WapcInstance::Options options = {}) {
    auto m = guest(name);
    if (!m) return nullptr;
    auto r = WapcInstance::create(engine(), m, std::move(options));
    if (auto* err = std::get_if<wasm::CallError>(&r)) {
      ADD_FAILURE() << name << ": " << err->message;
      return nullptr;
    }
    return std::move(std::get<std::unique_ptr<WapcInstance>>(r));
  }

  static Clock::time_point soon() { return Clock::now() + std::chrono::seconds(5); }

  // Runs `op`, expecting the engine to complete the call (guest success or guest error).
  static GuestCallResult callOk(WapcInstance& inst, std::string_view op, std::string_view payload) {
    auto r = inst.call(op, payload, soon());
    if (auto* err = std::get_if<wasm::CallError>(&r)) {
      ADD_FAILURE() << op << ": engine failure: " << err->message;
      return {};
    }
    return std::get<GuestCallResult>(r);
  }

  static wasm::CallError callFails(WapcInstance& inst, std::string_view op,
                                   std::string_view payload, Clock::time_point deadline) {
    auto r = inst.call(op, payload, deadline);
    if (auto* err = std::get_if<wasm::CallError>(&r)) return *err;
    ADD_FAILURE() << op
                  << ": expected an engine failure, got ok=" << std::get<GuestCallResult>(r).ok;
    return {wasm::FailKind::NotFound, "<no failure>"};
  }
};

TEST_F(WapcHostTest, ImportSetHasEveryWapcImportWithItsSignature) {
  struct Expected {
    const char* name;
    size_t params, results;
  };
  const Expected kImports[] = {
      {"__guest_request", 2, 0},  {"__guest_response", 2, 0},    {"__guest_error", 2, 0},
      {"__host_call", 8, 1},      {"__host_response_len", 0, 1}, {"__host_response", 1, 0},
      {"__host_error_len", 0, 1}, {"__host_error", 1, 0},        {"__console_log", 2, 0}};
  for (const auto& e : kImports) {
    const wasm::HostFunction* fn = importSet().find("wapc", e.name);
    ASSERT_NE(fn, nullptr) << e.name;
    EXPECT_EQ(fn->type.params.size(), e.params) << e.name;
    EXPECT_EQ(fn->type.results.size(), e.results) << e.name;
    for (auto t : fn->type.params) EXPECT_EQ(t, wasm::ValType::I32) << e.name;
  }
  // TinyGo waPC guests also import WASI preview1.
  EXPECT_NE(importSet().find("wasi_snapshot_preview1", "fd_write"), nullptr);
  EXPECT_EQ(importSet().find("wapc", "__no_such_import"), nullptr);
}

TEST_F(WapcHostTest, ProtocolVersionReturnsJsonStringV1) {
  auto inst = create("pod_privileged");
  ASSERT_TRUE(inst);
  auto r = callOk(*inst, "protocol_version", "");
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response, "\"v1\"");
}

TEST_F(WapcHostTest, UnknownOperationIsAGuestError) {
  auto inst = create("pod_privileged");
  ASSERT_TRUE(inst);
  auto r = callOk(*inst, "frobnicate", "{}");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("frobnicate"), std::string::npos) << r.error;
  EXPECT_TRUE(r.response.empty());
}

TEST_F(WapcHostTest, ValidateRoundTripsThroughGuestRequestAndResponse) {
  auto inst = create("pod_privileged");
  ASSERT_TRUE(inst);
  json payload = {
      {"request",
       {{"kind", {{"kind", "Pod"}}},
        {"object",
         {{"spec",
           {{"containers", json::array({{{"securityContext", {{"privileged", true}}}}})}}}}}}},
      {"settings", json::object()}};
  auto r = callOk(*inst, "validate", payload.dump());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(json::parse(r.response),
            json::parse(R"({"accepted":false,"message":"Privileged container is not allowed"})"));
}

TEST_F(WapcHostTest, ErrorStateDoesNotLeakIntoTheNextCall) {
  auto inst = create("pod_privileged");
  ASSERT_TRUE(inst);
  auto bad = callOk(*inst, "validate", "this is not json");
  EXPECT_FALSE(bad.ok);
  EXPECT_FALSE(bad.error.empty());
  auto good = callOk(*inst, "protocol_version", "");
  EXPECT_TRUE(good.ok);
  EXPECT_TRUE(good.error.empty()) << good.error;
  EXPECT_EQ(good.response, "\"v1\"");
}

TEST_F(WapcHostTest, NearDeadlineInterruptsAsTimeout) {
  auto inst = create("endless_loop");
  ASSERT_TRUE(inst);
  auto t0 = Clock::now();
  auto err = callFails(*inst, "validate", "{}", t0 + std::chrono::milliseconds(100));
  EXPECT_EQ(err.kind, wasm::FailKind::Timeout) << wasm::toString(err.kind) << ": " << err.message;
  EXPECT_EQ(err.message, "guest code interrupted, execution deadline exceeded");
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
}

TEST_F(WapcHostTest, PastDeadlineInterruptsAsTimeout) {
  auto inst = create("endless_loop");
  ASSERT_TRUE(inst);
  auto t0 = Clock::now();
  auto err = callFails(*inst, "validate", "{}", t0 - std::chrono::seconds(1));
  EXPECT_EQ(err.kind, wasm::FailKind::Timeout) << err.message;
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));

  // The isolate is usable afterwards: a new instance answers normally.
  auto next = create("pod_privileged");
  ASSERT_TRUE(next);
  EXPECT_EQ(callOk(*next, "protocol_version", "").response, "\"v1\"");
}

TEST_F(WapcHostTest, TrapIsReportedAsTrap) {
  auto inst = create("trap");
  ASSERT_TRUE(inst);
  auto err = callFails(*inst, "validate", "{}", soon());
  EXPECT_EQ(err.kind, wasm::FailKind::Trap) << err.message;
  EXPECT_NE(err.message.find("unreachable"), std::string::npos) << err.message;
}

TEST_F(WapcHostTest, OutOfBoundsGuestResponseIsAHostErrorNamingTheImport) {
  auto inst = create("bad_pointer");
  ASSERT_TRUE(inst);
  auto err = callFails(*inst, "validate", "{}", soon());
  EXPECT_EQ(err.kind, wasm::FailKind::HostError) << err.message;
  EXPECT_NE(err.message.find("__guest_response"), std::string::npos) << err.message;
}

TEST_F(WapcHostTest, HostCallReachesTheDispatcherWithPolicyId) {
  RecordingDispatcher d;
  auto inst = create("host_echo", {&d, "my-policy", nullptr, Clock::time_point::max()});
  ASSERT_TRUE(inst);
  auto r = callOk(*inst, "validate", R"({"request":{},"settings":{"k":"v"}})");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(d.calls.size(), 1u);
  EXPECT_EQ(d.calls[0][0], "my-policy");
  EXPECT_EQ(d.calls[0][1], "kubewarden");
  EXPECT_EQ(d.calls[0][2], "test");
  EXPECT_EQ(d.calls[0][3], "echo");
  EXPECT_EQ(json::parse(d.calls[0][4]), json::parse(R"({"k":"v"})"));
  auto reply = json::parse(r.response);
  EXPECT_EQ(reply["accepted"], true);
  EXPECT_EQ(reply["message"], "echo:" + d.calls[0][4]);
}

TEST_F(WapcHostTest, HostCallErrorReachesTheGuest) {
  RecordingDispatcher d;
  d.fail_with = "capability refused";
  auto inst = create("host_echo", {&d, "p", nullptr, Clock::time_point::max()});
  ASSERT_TRUE(inst);
  auto r = callOk(*inst, "validate", R"({"request":{},"settings":{}})");
  ASSERT_TRUE(r.ok) << r.error;
  auto reply = json::parse(r.response);
  EXPECT_EQ(reply["accepted"], false);
  EXPECT_EQ(reply["message"], "host error: capability refused");
}

TEST_F(WapcHostTest, HostCallWithoutDispatcherIsAnError) {
  auto inst = create("host_echo");
  ASSERT_TRUE(inst);
  auto r = callOk(*inst, "validate", R"({"request":{},"settings":{}})");
  ASSERT_TRUE(r.ok) << r.error;
  auto reply = json::parse(r.response);
  EXPECT_EQ(reply["accepted"], false);
  EXPECT_NE(reply["message"].get<std::string>().find("not available"), std::string::npos)
      << r.response;
}

TEST_F(WapcHostTest, UnresolvableImportFailsInstantiation) {
  auto m = compile(kImportsUnknown);
  ASSERT_TRUE(m);
  auto r = WapcInstance::create(engine(), m, {});
  ASSERT_TRUE(std::holds_alternative<wasm::CallError>(r));
  const auto& err = std::get<wasm::CallError>(r);
  EXPECT_EQ(err.kind, wasm::FailKind::Instantiate) << err.message;
  EXPECT_NE(err.message.find("foo"), std::string::npos) << err.message;
}

TEST_F(WapcHostTest, ModuleWithoutGuestCallIsNotFound) {
  auto m = compile(kEmptyModule);
  ASSERT_TRUE(m);
  auto r = WapcInstance::create(engine(), m, {});
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<WapcInstance>>(r));
  auto& inst = *std::get<std::unique_ptr<WapcInstance>>(r);
  auto err = callFails(inst, "validate", "{}", soon());
  EXPECT_EQ(err.kind, wasm::FailKind::NotFound) << err.message;
  EXPECT_NE(err.message.find("__guest_call"), std::string::npos) << err.message;
}

}  // namespace
}  // namespace kw::wapc
