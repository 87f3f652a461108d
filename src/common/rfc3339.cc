#include "common/rfc3339.h"

#include <optional>
#include <string>

namespace kw {

int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate civilFromDays(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2), m, d};
}

int64_t daysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

namespace {

// A cursor over the text: each read either consumes what it expects or leaves pos alone.
struct Cursor {
  std::string_view s;
  size_t pos = 0;

  std::optional<int64_t> digits(size_t n) {
    if (pos + n > s.size()) return std::nullopt;
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      char ch = s[pos + i];
      if (ch < '0' || ch > '9') return std::nullopt;
      v = v * 10 + (ch - '0');
    }
    pos += n;
    return v;
  }
  bool take(std::string_view any_of) {
    if (pos >= s.size() || any_of.find(s[pos]) == std::string_view::npos) return false;
    ++pos;
    return true;
  }
  bool done() const { return pos == s.size(); }
};

}  // namespace

Result<Timestamp> parseRfc3339(std::string_view text, Rfc3339Dialect dialect) {
  const bool chrono = dialect == Rfc3339Dialect::kChrono;
  Cursor c{text};
  std::optional<int64_t> year, month, day, hour, minute, second;
  if (!(year = c.digits(4)) || !c.take("-") || !(month = c.digits(2)) || !c.take("-") ||
      !(day = c.digits(2)) || !c.take(chrono ? "Tt " : "T") || !(hour = c.digits(2)) ||
      !c.take(":") || !(minute = c.digits(2)) || !c.take(":") || !(second = c.digits(2))) {
    return makeError("not in the form 2006-01-02T15:04:05Z07:00");
  }
  if (*month < 1 || *month > 12) return makeError("month out of range");
  if (*day < 1 || *day > daysInMonth(*year, *month)) return makeError("day out of range");
  if (*hour > 23) return makeError("hour out of range");
  if (*minute > 59) return makeError("minute out of range");
  if (*second > (chrono ? 60 : 59)) return makeError("second out of range");
  Timestamp t;
  if (c.take(chrono ? "." : ".,")) {
    size_t start = c.pos;
    while (c.pos < text.size() && text[c.pos] >= '0' && text[c.pos] <= '9') ++c.pos;
    if (c.pos == start) return makeError("missing fractional digits");
    std::string nine(text.substr(start, std::min<size_t>(c.pos - start, 9)));
    nine.resize(9, '0');
    t.nanos = int32_t(std::stol(nine));
  }
  int64_t offset = 0;
  if (c.take(chrono ? "Zz" : "Z")) {
  } else if (c.pos < text.size() && (text[c.pos] == '+' || text[c.pos] == '-')) {
    int64_t sign = text[c.pos++] == '-' ? -1 : 1;
    auto oh = c.digits(2);
    std::optional<int64_t> om;
    if (!oh || !c.take(":") || !(om = c.digits(2))) return makeError("bad offset");
    if (*oh > 23 || *om > 59) return makeError("time zone offset out of range");
    offset = sign * (*oh * 3600 + *om * 60);
  } else {
    return makeError("missing time zone");
  }
  if (!c.done()) return makeError("extra text after the time zone");
  t.seconds = daysFromCivil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second -
              offset;
  return t;
}

}  // namespace kw
