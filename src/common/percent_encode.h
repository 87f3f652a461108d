// Percent-encoding (RFC 3986) in both directions, and its form variant (Go's url.QueryEscape /
// QueryUnescape) where a space travels as '+'. Used for Kubernetes API list parameters,
// registry token scopes, policy-server path parameters and Rego's urlquery builtins.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace kw {

enum class PercentStyle {
  kRfc3986,  // every byte but A-Z a-z 0-9 - _ . ~ as %XX; '+' is a plain character
  kForm,     // the same, except that a space is written as '+' and '+' read as a space
};

std::string percentEncode(std::string_view s, PercentStyle style = PercentStyle::kRfc3986);

// Decodes %XX escapes. A '%' not followed by two hex digits is kept as written, unless
// `strict`: then the result is an error whose message is the malformed escape itself (at most
// three characters), for the caller to frame in its own words.
Result<std::string> percentDecode(std::string_view s, PercentStyle style = PercentStyle::kRfc3986,
                                  bool strict = false);

// 0-15 for a hex digit of either case, -1 otherwise.
int hexDigitValue(char c);

}  // namespace kw
