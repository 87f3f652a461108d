// Regular expressions in Go's RE2 syntax, matched as Go's regexp matches them: leftmost-first
// over UTF-8 characters (an invalid byte reads as U+FFFD), in time linear in the input.
//
// Why not std::regex: libstdc++ matches by recursion, one stack frame per input character or
// more, and a 10 KB request string is enough to overflow a thread's stack from inside a policy
// evaluation. This is a Pike VM: a compiled program run over the input with explicit thread
// lists, so neither the input nor the pattern's repetition can deepen the stack. Parsing
// recurses only with the pattern's group nesting, which is capped.
//
// Supported: literals and escapes (\n \t \x41 \x{263a} \123, \Q...\E, escaped punctuation),
// ., [classes] with ranges, negation, [:alpha:]-style and \d \s \w (ASCII, as RE2), groups
// (plain, (?:...), (?P<name>...), (?<name>...)), flags (?imsU) and (?flags:...), * + ? {n}
// {n,} {n,m} with lazy forms, ^ $ \A \z \b \B. Not supported: Unicode classes (\pL), \C.
// Case-insensitive matching folds ASCII letters only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kw::opa {

class Regexp {
 public:
  // Errors read like Go's, e.g. "missing closing ): `(a`".
  static Result<std::shared_ptr<const Regexp>> compile(std::string_view pattern);

  // The leftmost-first match [begin, end) starting at or after `from`. The text before `from`
  // is context: ^ and \A still mean the start of `s`, and \b sees the previous character.
  std::optional<std::pair<size_t, size_t>> find(std::string_view s, size_t from = 0) const;

  ~Regexp();
  struct Inst;

 private:
  Regexp() = default;
  std::vector<Inst> prog_;
};

}  // namespace kw::opa
