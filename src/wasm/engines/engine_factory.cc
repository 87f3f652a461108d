// Engine choice by name. Its own library (kwengines) because it links every backend the build
// has, and the backends themselves depend on kwcore.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kw/wasm/engine.h"

namespace kw::wasm {

// wasmtime is the default where the build has it: issue 14's benchmark (docs/benchmarks.md)
// has it ahead on fresh-instance latency for every policy measured, on RSS across workers, and
// on boot time once its code cache is warm.
std::vector<std::string> engineNames() {
#ifdef KW_WITH_WASMTIME
  return {"wasmtime", "v8"};
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
