// Shared helpers of the builtin implementations (src/opa/builtin*.cc). Not part of the API.
#pragma once

#include <string>
#include <string_view>

#include "opa/builtins.h"

namespace kw::opa::detail {

// OPA's names for value types, as its type errors print them.
std::string_view typeName(const Json& v);

// "<builtin>: <message>": every builtin error names its builtin, as OPA's do.
Error fail(const BuiltinCall& c, std::string_view message);
// OPA's operand type error, e.g. "hex.decode: operand 1 must be string but got number".
Error operandError(const BuiltinCall& c, size_t index, std::string_view want);

// The string at args[index], or an operand type error.
Result<const std::string*> stringArg(const BuiltinCall& c, size_t index);

inline BuiltinResult defined(Json v) {
  return std::optional<Json>(std::move(v));
}
inline BuiltinResult undefined() {
  return std::optional<Json>();
}

// Go's strconv.Quote: the string in double quotes with Go escapes.
std::string goQuote(std::string_view s);
// Rego's text for a value (what OPA's sprintf prints for %v of a composite): strings quoted,
// arrays as [a, b], objects as {"k": v}.
std::string regoString(const Json& v);

BuiltinResult sprintf(const BuiltinCall& c);
BuiltinResult yamlMarshal(const BuiltinCall& c);
BuiltinResult yamlUnmarshal(const BuiltinCall& c);
BuiltinResult yamlIsValid(const BuiltinCall& c);
BuiltinResult regexSplit(const BuiltinCall& c);
BuiltinResult regexTemplateMatch(const BuiltinCall& c);
BuiltinResult regexFindN(const BuiltinCall& c);

}  // namespace kw::opa::detail
