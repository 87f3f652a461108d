// The Rego builtins a host must provide to OPA-wasm modules (the ones the compiler does not
// implement inside the module). Kubewarden 1.10 implements exactly this set; a module that
// needs any other one is refused when it is loaded. Semantics follow OPA's documentation; values
// travel as JSON, so Rego sets arrive as arrays.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kw::opa {

using Json = nlohmann::json;

// What builtins share during one evaluation: OPA answers time.now_ns with the same instant for
// every call in an evaluation.
struct BuiltinContext {
  std::string policy_id;                       // for the trace log
  std::optional<int64_t> now_ns;               // set by the first time.now_ns
  std::vector<std::string>* traces = nullptr;  // when set, trace notes land here too
};

// A value, or nullopt for "undefined" (the expression fails quietly, as json.patch does when a
// patch does not apply). An Error aborts the evaluation.
using BuiltinResult = Result<std::optional<Json>>;

struct BuiltinCall {
  std::string_view name;
  std::span<const Json> args;
  BuiltinContext& ctx;
};

using BuiltinFn = BuiltinResult (*)(const BuiltinCall& call);

struct Builtin {
  std::string_view name;
  size_t arity;
  BuiltinFn fn;
};

// The builtin with this Rego name, or null when we do not implement it.
const Builtin* findBuiltin(std::string_view name);

// Names of every implemented builtin, sorted (printed by `policy-server --version`).
std::vector<std::string> implementedBuiltins();

// Runs a builtin by name, checking the argument count first.
BuiltinResult callBuiltin(std::string_view name, std::span<const Json> args, BuiltinContext& ctx);

// Go's strconv.FormatFloat(v, 'g', -1, 64), which is also what fmt's %v prints for a float64.
std::string formatGoFloat(double v);

}  // namespace kw::opa
