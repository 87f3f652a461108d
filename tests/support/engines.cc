#include "support/engines.h"

#include <map>
#include <mutex>

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

std::vector<std::string> engineNames() { return wasm::engineNames(); }

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

std::string engineTestName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace kw::test
