// RFC 3339 in both dialects: Go's (Rego, Kubernetes) and chrono's (host capabilities).
#include "common/rfc3339.h"

#include <gtest/gtest.h>

namespace kw {
namespace {

int64_t secondsOf(std::string_view s, Rfc3339Dialect d = Rfc3339Dialect::kGo) {
  auto t = parseRfc3339(s, d);
  EXPECT_TRUE(t.ok()) << s << ": " << (t.ok() ? "" : t.error().message);
  return t.ok() ? t->seconds : -1;
}

std::string errorOf(std::string_view s, Rfc3339Dialect d = Rfc3339Dialect::kGo) {
  auto t = parseRfc3339(s, d);
  return t.ok() ? "(accepted)" : t.error().message;
}

TEST(Rfc3339, ReadsOffsetsAndFractions) {
  EXPECT_EQ(secondsOf("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(secondsOf("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(secondsOf("1969-12-31T23:00:00-01:00"), 0);
  EXPECT_EQ(secondsOf("2024-02-29T12:34:56Z"), 1709210096);
  auto t = parseRfc3339("1970-01-01T00:00:01.5-00:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, 1);
  EXPECT_EQ(t->nanos, 500'000'000);
  // Past nine digits the fraction is cut, not rounded.
  t = parseRfc3339("1970-01-01T00:00:00.1234567899Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->nanos, 123'456'789);
}

TEST(Rfc3339, DatesBeforeTheEpochAndTheCalendarRoundTrip) {
  EXPECT_EQ(secondsOf("1900-01-01T00:00:00Z"), -2208988800);
  for (int64_t days : {-719468, -1, 0, 59, 11016, 2932896}) {
    CivilDate d = civilFromDays(days);
    EXPECT_EQ(daysFromCivil(d.year, d.month, d.day), days);
  }
  EXPECT_EQ(daysInMonth(2000, 2), 29);
  EXPECT_EQ(daysInMonth(1900, 2), 28);
}

TEST(Rfc3339, RefusesWhatGoRefusesWithItsReason) {
  EXPECT_EQ(errorOf("1970-01-01"), "not in the form 2006-01-02T15:04:05Z07:00");
  EXPECT_EQ(errorOf("yesterday"), "not in the form 2006-01-02T15:04:05Z07:00");
  EXPECT_EQ(errorOf("2023-13-01T00:00:00Z"), "month out of range");
  EXPECT_EQ(errorOf("2023-02-29T00:00:00Z"), "day out of range");
  EXPECT_EQ(errorOf("2023-01-01T24:00:00Z"), "hour out of range");
  EXPECT_EQ(errorOf("2023-01-01T00:60:00Z"), "minute out of range");
  EXPECT_EQ(errorOf("2023-01-01T00:00:60Z"), "second out of range");
  EXPECT_EQ(errorOf("2023-01-01T00:00:00.Z"), "missing fractional digits");
  EXPECT_EQ(errorOf("2023-01-01T00:00:00"), "missing time zone");
  EXPECT_EQ(errorOf("2023-01-01T00:00:00+0100"), "bad offset");
  EXPECT_EQ(errorOf("2023-01-01T00:00:00+24:00"), "time zone offset out of range");
  EXPECT_EQ(errorOf("2023-01-01T00:00:00Zjunk"), "extra text after the time zone");
  EXPECT_EQ(errorOf("2023-01-01t00:00:00Z"), "not in the form 2006-01-02T15:04:05Z07:00");
  EXPECT_EQ(errorOf("2023-01-01T00:00:00z"), "missing time zone");
  EXPECT_EQ(secondsOf("2023-01-01T00:00:00,5Z"), 1672531200);  // Go takes a comma too
}

TEST(Rfc3339, ChronoDialectIsLaxerWhereChronoIs) {
  constexpr auto kChrono = Rfc3339Dialect::kChrono;
  EXPECT_EQ(secondsOf("2023-01-01t00:00:00z", kChrono), 1672531200);
  EXPECT_EQ(secondsOf("2023-01-01 00:00:00Z", kChrono), 1672531200);
  EXPECT_EQ(secondsOf("2016-12-31T23:59:60Z", kChrono), 1483228800);  // a leap second
  EXPECT_EQ(errorOf("2023-01-01T00:00:00,5Z", kChrono), "missing time zone");
  EXPECT_EQ(errorOf("2023-02-30T00:00:00Z", kChrono), "day out of range");
}

}  // namespace
}  // namespace kw
