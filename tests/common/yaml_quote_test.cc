// The shared double-quoted YAML writer: every escape it emits must read back (through yaml-cpp)
// to the original bytes, including YAML 1.1 line breaks and control characters.
#include "common/yaml_quote.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

namespace kw {
namespace {

std::string readBack(const std::string& quoted) {
  return YAML::Load(quoted).as<std::string>();
}

TEST(YamlQuote, EscapesQuotesBackslashesAndNamedControls) {
  EXPECT_EQ(yamlDoubleQuoted("a\"b\\c\nd\te\rf"), R"("a\"b\\c\nd\te\rf")");
}

TEST(YamlQuote, EscapesOtherControlsAsHex) {
  EXPECT_EQ(yamlDoubleQuoted(std::string("\x01\x7f", 2)), R"("\x01\x7F")");
}

TEST(YamlQuote, EscapesYaml11BreaksAndByteOrderMark) {
  std::string s =
      "a\xC2\x85"
      "b\xE2\x80\xA8"
      "c\xE2\x80\xA9"
      "d\xEF\xBB\xBF";
  EXPECT_TRUE(hasYamlSpecialUnicode(s));
  EXPECT_EQ(yamlDoubleQuoted(s), R"("a\u0085b\u2028c\u2029d\uFEFF")");
  EXPECT_FALSE(hasYamlSpecialUnicode("caf\xC3\xA9"));
  EXPECT_EQ(yamlDoubleQuoted("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
}

TEST(YamlQuote, ReadsBackToTheSameBytes) {
  for (std::string s : {std::string("plain"), std::string("it's \"quoted\""),
                        std::string("tab\there\nnew\x01line\x7f"),
                        std::string("nel\xC2\x85ls\xE2\x80\xA8"
                                    "end")}) {
    EXPECT_EQ(readBack(yamlDoubleQuoted(s)), s) << yamlDoubleQuoted(s);
  }
}

}  // namespace
}  // namespace kw
