// Regular expressions as Go's regexp package defines them (syntax, leftmost-first matching per
// UTF-8 character, Compile's error texts), on Google's RE2, the library Go's syntax comes from.
//
// Why RE2 and not std::regex: libstdc++ matches by recursion, one stack frame per input
// character or more, and a 10 KB request string is enough to overflow a thread's stack from
// inside a policy evaluation. RE2 runs automata over the input in time linear in its size,
// without recursing on the input or the pattern's repetition, and bounds each pattern's memory.
//
// Where RE2 alone differs from Go, the wrapper makes up for it: Go 1.22's (?<name>...), \C
// refused, invalid UTF-8 in the input read as U+FFFD, empty matches only between characters,
// and Go's error texts. Remaining differences: a pattern whose program needs more than RE2's
// memory budget is refused as "expression too large" where Go would still compile it, and Go's
// limit on group nesting (1000) is not enforced.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace kw::opa {

class Regexp {
 public:
  using Span = std::pair<size_t, size_t>;  // byte offsets [begin, end)

  // Errors read as Go's regexp.Compile, e.g. "error parsing regexp: missing closing ): `(a`".
  static Result<std::shared_ptr<const Regexp>> compile(std::string_view pattern);

  // Whether the pattern matches anywhere in s (Go's MatchString).
  bool matches(std::string_view s) const;

  // Go's FindAllStringIndex: successive leftmost-first matches; an empty match right after the
  // previous match is skipped. At most n matches, all when n < 0.
  std::vector<Span> findAll(std::string_view s, int64_t n = -1) const;

  ~Regexp();

 private:
  explicit Regexp(std::unique_ptr<const re2::RE2> re);
  std::unique_ptr<const re2::RE2> re_;
};

}  // namespace kw::opa
