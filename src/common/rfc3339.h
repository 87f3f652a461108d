// RFC 3339 timestamps ("2006-01-02T15:04:05.999Z07:00"), read the way the two upstream runtimes
// whose behaviour we copy read them: Go's time.Parse(time.RFC3339, …) for Rego's
// time.parse_rfc3339_ns and the Kubernetes API, and Rust chrono's parse_from_rfc3339 for
// policy-server's host capabilities. One parser; the dialect only widens what is accepted.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace kw {

enum class Rfc3339Dialect {
  kGo,      // 'T' and 'Z' only; the fraction after '.' or ','; seconds 00-59
  kChrono,  // also 't' or ' ' between date and time and a lower-case 'z'; '.' only; second 60
};

struct Timestamp {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  int32_t nanos = 0;    // 0..999'999'999; digits past the ninth are dropped, as Go does
};

// Errors carry only the reason ("month out of range", "missing time zone", …); callers add
// the input and their own framing.
Result<Timestamp> parseRfc3339(std::string_view text, Rfc3339Dialect dialect = Rfc3339Dialect::kGo);

// Proleptic Gregorian calendar arithmetic (exact over eras of 400 years).
struct CivilDate {
  int64_t year;
  int64_t month;  // 1..12
  int64_t day;    // 1..31
};
int64_t daysFromCivil(int64_t year, int64_t month, int64_t day);
CivilDate civilFromDays(int64_t days_since_epoch);
int64_t daysInMonth(int64_t year, int64_t month);

}  // namespace kw
