// Engine choice by name. Its own library (kwengines) because it links every backend the build
// has, and the backends themselves depend on kwcore.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kw/wasm/engine.h"

namespace kw::wasm {

std::vector<std::string> engineNames() {
#ifdef KW_WITH_WASMTIME
  return {"v8", "wasmtime"};
#else
  return {"v8"};
#endif
}

Result<std::shared_ptr<Engine>> createEngine(std::string_view name, const EngineOptions& options) {
  if (name == "v8") return createV8Engine(options);
#ifdef KW_WITH_WASMTIME
  if (name == "wasmtime") return createWasmtimeEngine(options);
#endif
  return makeError(fmt::format("unknown engine `{}`: this build has {}", name,
                               fmt::join(engineNames(), ", ")));
}

}  // namespace kw::wasm
