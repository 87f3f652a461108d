// Tests that hold for every engine run once per engine this build has: value-parametrised over
// the engine's name ("v8", "wasmtime"), so a failure names the engine it happened on.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "kw/wasm/engine.h"

namespace kw::test {

// Every engine in this build, default first.
std::vector<std::string> engineNames();
// A new engine object of that kind (each backend shares its process-wide engine underneath).
std::shared_ptr<wasm::Engine> makeEngine(const std::string& name,
                                         const wasm::EngineOptions& options = {});
// One engine per name for the whole test process, with default options: for suites that
// cache compiled modules across cases.
std::shared_ptr<wasm::Engine> sharedEngine(const std::string& name);
// Compiles engine_probe.wasm (`bytes`, from testWasmDir()) on `engine`, instantiates it with host
// functions that do nothing and calls add(40, 2). "" when that answers 42, else what went wrong.
std::string runProbeAdd(wasm::Engine& engine, std::span<const uint8_t> bytes);
// "v8" / "wasmtime" as the test-name suffix.
std::string engineTestName(const ::testing::TestParamInfo<std::string>& info);

// Suites that already have cases (conformance) run each case on every engine: the parameter
// is (case, engine name), and the test name is the case's own name followed by the engine's.
template <typename Case>
using EngineCase = std::tuple<Case, std::string>;

template <typename Case>
auto forEveryEngine(const std::vector<Case>& cases) {
  return ::testing::Combine(::testing::ValuesIn(cases), ::testing::ValuesIn(engineNames()));
}

template <typename Case, std::string (*CaseName)(const ::testing::TestParamInfo<Case>&)>
std::string engineCaseName(const ::testing::TestParamInfo<EngineCase<Case>>& info) {
  // Combine varies the engine fastest, so the case's own index is the quotient.
  ::testing::TestParamInfo<Case> inner(std::get<0>(info.param), info.index / engineNames().size());
  return CaseName(inner) + "_" + std::get<1>(info.param);
}

}  // namespace kw::test

// Instantiates a value-parametrised suite (TEST_P on a TestWithParam<std::string>) once per engine.
#define KW_INSTANTIATE_FOR_ENGINES(Suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(Engines, Suite, ::testing::ValuesIn(::kw::test::engineNames()), \
                           ::kw::test::engineTestName)
