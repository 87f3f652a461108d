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

}  // namespace
}  // namespace kw
