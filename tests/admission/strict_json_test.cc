#include "admission/strict_json.h"

#include <gtest/gtest.h>

namespace kw::admission {
namespace {

TEST(StrictJson, BuildsTheSameDomAsNlohmann) {
  const char* text =
      R"({"a": [1, -2, 3.5, "s", true, null, {"b": {}}, []], "c": {"d": [[1], {"e": "f"}]},)"
      R"( "big": 18446744073709551615, "neg": -9223372036854775808})";
  EXPECT_EQ(parseStrict(text), Json::parse(text));
  EXPECT_EQ(parseStrict("7"), Json(7));
  EXPECT_EQ(parseStrict(R"("x")"), Json("x"));
  EXPECT_EQ(parseStrict("[]"), Json::array());
}

TEST(StrictJson, RefusesRepeatedMembersAtAnyDepth) {
  EXPECT_THROW(parseStrict(R"({"a": 1, "a": 2})"), DuplicateField);
  try {
    parseStrict(R"({"x": [{"k": 1, "k": 1}]})");
    FAIL() << "no exception";
  } catch (const DuplicateField& e) {
    EXPECT_STREQ(e.what(), "duplicate field `k`");
  }
  // The same key in sibling objects is fine.
  EXPECT_NO_THROW(parseStrict(R"([{"k": 1}, {"k": 2}, {"o": {"k": 3}}])"));
}

TEST(StrictJson, SyntaxAndRangeErrorsAreNlohmannsOwn) {
  EXPECT_THROW(parseStrict("{not json"), Json::parse_error);
  EXPECT_THROW(parseStrict(R"({"x": 1e999})"), Json::out_of_range);
}

}  // namespace
}  // namespace kw::admission
