// Query values reach the Kubernetes API and registry token servers intact only when every
// reserved byte is escaped and unreserved ones are left alone.
#include "common/percent_encode.h"

#include <gtest/gtest.h>

namespace kw {
namespace {

TEST(PercentEncode, KeepsUnreservedCharacters) {
  EXPECT_EQ(percentEncode("AZaz09-_.~"), "AZaz09-_.~");
}

TEST(PercentEncode, EscapesReservedAndNonAsciiBytesInUpperCaseHex) {
  EXPECT_EQ(percentEncode("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
  EXPECT_EQ(percentEncode("app in (a b)"), "app%20in%20%28a%20b%29");
  EXPECT_EQ(percentEncode("caf\xC3\xA9="), "caf%C3%A9%3D");
}

TEST(PercentEncode, FormStyleWritesASpaceAsPlus) {
  EXPECT_EQ(percentEncode("a b+c", PercentStyle::kForm), "a+b%2Bc");
  EXPECT_EQ(percentEncode("a b+c"), "a%20b%2Bc");
}

TEST(PercentDecode, DecodesEitherCaseAndReadsPlusOnlyInFormStyle) {
  EXPECT_EQ(*percentDecode("caf%c3%A9%3d+x"), "caf\xC3\xA9=+x");
  EXPECT_EQ(*percentDecode("a+b%20c", PercentStyle::kForm), "a b c");
}

TEST(PercentDecode, KeepsMalformedEscapesUnlessStrict) {
  EXPECT_EQ(*percentDecode("100%-%4"), "100%-%4");
  EXPECT_EQ(*percentDecode("%zz%41"), "%zzA");
  auto bad = percentDecode("ok%4g-more", PercentStyle::kForm, /*strict=*/true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "%4g");
  bad = percentDecode("tail%4", PercentStyle::kRfc3986, /*strict=*/true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "%4");
}

TEST(PercentDecode, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(char(c));
  for (auto style : {PercentStyle::kRfc3986, PercentStyle::kForm}) {
    auto back = percentDecode(percentEncode(all, style), style, /*strict=*/true);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, all);
  }
}

}  // namespace
}  // namespace kw
