// The shared base64 codec: RFC 4648 vectors, padding, whitespace tolerance and the error that
// names an invalid character (callers such as cosign signature checks show it to users).
#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace kw {
namespace {

TEST(Base64, EncodesRfc4648VectorsWithPadding) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, UsesTheStandardAlphabetAndNoLineBreaks) {
  EXPECT_EQ(base64Encode("\xfb\xff"), "+/8=");
  std::string long_input(200, 'x');
  EXPECT_EQ(base64Encode(long_input).find('\n'), std::string::npos);
}

// The RFC's own encoded strings, not our encoder's output, so a bug shared by both can't hide.
TEST(Base64, DecodesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"Zg==", "f"},
                                                         {"Zm8=", "fo"},
                                                         {"Zm9v", "foo"},
                                                         {"Zm9vYg==", "foob"},
                                                         {"Zm9vYmE=", "fooba"},
                                                         {"Zm9vYmFy", "foobar"}};
  for (const auto& [encoded, plain] : vectors) {
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, plain) << encoded;
  }
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t len : {size_t(0), size_t(1), size_t(2), size_t(3), size_t(255), size_t(256)}) {
    std::string in = bytes.substr(0, len);
    auto out = base64Decode(base64Encode(in));
    ASSERT_TRUE(out.ok()) << len;
    EXPECT_EQ(*out, in) << len;
  }
}

TEST(Base64, PaddingIsOptional) {
  auto padded = base64Decode("Zm9vYg==");
  auto bare = base64Decode("Zm9vYg");
  ASSERT_TRUE(padded.ok());
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(*padded, "foob");
  EXPECT_EQ(*bare, "foob");
}

TEST(Base64, SkipsWhitespace) {
  auto out = base64Decode(" Zm9v\tYmFy\r\nZm9v\n");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "foobarfoo");
}

TEST(Base64, RejectsCharactersOutsideTheStandardAlphabet) {
  for (const char* bad : {"Zm9v*", "Zm-v", "Zm_v", "Zm9v.Zg=="}) {
    auto out = base64Decode(bad);
    ASSERT_FALSE(out.ok()) << bad;
  }
  auto out = base64Decode("Zm9v*");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "invalid base64 character '*'");
}

}  // namespace
}  // namespace kw
