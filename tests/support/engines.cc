#include "support/engines.h"

#include <chrono>
#include <map>
#include <mutex>
#include <variant>

namespace kw::test {
namespace {

// V8's out-of-bounds signal handler must be installed before wasmtime's (see engine.h), and
// tests create engines lazily in any order; so when the build has both, V8 starts first.
class V8FirstEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (wasm::engineNames().size() > 1) wasm::createV8Engine();
  }
};

[[maybe_unused]] ::testing::Environment* const kV8First =
    ::testing::AddGlobalTestEnvironment(new V8FirstEnvironment);

}  // namespace

std::vector<std::string> engineNames() {
  return wasm::engineNames();
}

std::shared_ptr<wasm::Engine> makeEngine(const std::string& name,
                                         const wasm::EngineOptions& options) {
  auto engine = wasm::createEngine(name, options);
  if (!engine) ADD_FAILURE() << engine.error().message;
  return engine ? *engine : nullptr;
}

std::shared_ptr<wasm::Engine> sharedEngine(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<wasm::Engine>> engines;
  std::lock_guard lock(mu);
  auto& slot = engines[name];
  if (!slot) slot = makeEngine(name);
  return slot;
}

std::string engineTestName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

std::string runProbeAdd(wasm::Engine& engine, std::span<const uint8_t> bytes) {
  using namespace wasm;
  auto m = engine.compile(bytes);
  if (!m.ok()) return "compile: " + m.error().message;
  ImportSet imports;
  auto unused = [](Caller&, std::span<const Value>) { return std::vector<Value>{}; };
  imports.add({"env", "host_i64", {{ValType::I64}, {ValType::I64}}, unused});
  imports.add({"env", "host_f64", {{ValType::F64}, {ValType::F64}}, unused});
  imports.add({"env", "host_fail", {{}, {}}, unused});
  InstanceOptions io{&imports, nullptr};
  auto inst = engine.instantiate(*m, io);
  if (auto* e = std::get_if<CallError>(&inst)) return "instantiate: " + e->message;
  Value args[2] = {Value::fromI32(40), Value::fromI32(2)};
  auto r =
      std::get<InstancePtr>(inst)->call("add", args, std::chrono::steady_clock::time_point::max());
  if (auto* e = std::get_if<CallError>(&r)) return "call: " + e->message;
  const auto& out = std::get<std::vector<Value>>(r);
  if (out.empty() || out[0].i32 != 42) return "add(40, 2) did not answer 42";
  return "";
}

}  // namespace kw::test
