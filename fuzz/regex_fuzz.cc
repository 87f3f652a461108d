// The Rego regex builtins (src/opa/builtin_regex.cc) and Go-syntax regular expressions on RE2
// (src/opa/regexp.cc): patterns and subjects come from policies and the objects they evaluate.
// Input: one selector byte, the pattern (or template) up to the first newline, the subject after.
// Besides crashes, checks findAll's promise: ordered, non-overlapping spans inside the subject,
// and matches() true exactly when there is a first match.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "opa/builtins.h"
#include "opa/regexp.h"

namespace {

using kw::opa::Json;

void checkSpans(const kw::opa::Regexp& re, std::string_view subject, int64_t n) {
  auto spans = re.findAll(subject, n);
  if (n >= 0) KW_FUZZ_CHECK(spans.size() <= static_cast<size_t>(n));
  size_t last_end = 0;
  for (const auto& [begin, end] : spans) {
    KW_FUZZ_CHECK(begin <= end && end <= subject.size() && begin >= last_end);
    last_end = end;
  }
  KW_FUZZ_CHECK(re.matches(subject) == !re.findAll(subject, 1).empty());
}

void callBuiltin(std::string_view name, std::vector<Json> args) {
  kw::opa::BuiltinContext ctx;
  auto result = kw::opa::callBuiltin(name, args, ctx);
  if (!result) KW_FUZZ_CHECK(!result.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kw::fuzz::Selected in;
  if (!kw::fuzz::splitSelector(data, size, in)) return 0;
  const uint8_t selector = in.selector;
  std::string_view rest = in.rest;
  size_t newline = rest.find('\n');
  std::string pattern(rest.substr(0, newline));
  std::string subject(newline == std::string_view::npos ? "" : rest.substr(newline + 1));
  // Rego strings are JSON strings: nlohmann refuses to serialise invalid UTF-8, but the
  // builtins only read them, so any bytes are fair.
  const int64_t n = static_cast<int64_t>(selector >> 2) - 8;  // -8 … 55: "all" and small limits
  switch (selector & 3) {
    case 0: {
      auto re = kw::opa::Regexp::compile(pattern);
      if (re) checkSpans(**re, subject, n);
      break;
    }
    case 1:
      callBuiltin("regex.split", {pattern, subject});
      break;
    case 2:
      callBuiltin("regex.find_n", {pattern, subject, n});
      break;
    default: {
      // The template's delimiters: {} most of the time, else two bytes taken from the selector.
      std::string open = (selector & 4) ? "{" : std::string(1, char('!' + (selector >> 3) % 8));
      std::string close = (selector & 4) ? "}" : std::string(1, char('(' + (selector >> 5)));
      callBuiltin("regex.template_match", {pattern, subject, open, close});
      break;
    }
  }
  return 0;
}
