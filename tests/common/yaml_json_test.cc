// One walk from YAML to JSON with per-reader scalar typing: the core schema by default, and the
// hooks the metadata and Rego readers plug in.
#include "common/yaml_json.h"

#include <gtest/gtest.h>

namespace kw {
namespace {

using Json = nlohmann::json;

TEST(YamlToJson, CoreSchemaTypesPlainScalars) {
  Json j = parseYamlToJson(
      "n: ~\nb: True\ni: -42\np: +7\no: 0o17\nh: 0x1F\nf: 1.5e3\ng: .5\nbig: 123456789012345678901\n"
      "inf: .inf\nword: yes\nver: 1.2.3\nexp: 1e\n");
  EXPECT_TRUE(j["n"].is_null());
  EXPECT_EQ(j["b"], true);
  EXPECT_EQ(j["i"], -42);
  EXPECT_EQ(j["p"], 7);
  EXPECT_EQ(j["o"], 15);
  EXPECT_EQ(j["h"], 31);
  EXPECT_EQ(j["f"], 1500.0);
  EXPECT_EQ(j["g"], 0.5);
  EXPECT_TRUE(j["big"].is_number_float());  // past 64 bits: a float, as upstream
  EXPECT_EQ(j["inf"], ".inf");              // JSON has no infinity
  EXPECT_EQ(j["word"], "yes");              // YAML 1.1's booleans are 1.2 strings
  EXPECT_EQ(j["ver"], "1.2.3");
  EXPECT_EQ(j["exp"], "1e");
}

// Found by fuzz/sources_fuzz.cc: a float past the double range made std::stod throw
// out_of_range out of parseSources (and every YAML reader), which ended the process.
TEST(YamlToJson, FloatsOutOfRangeAreNotExceptions) {
  Json j = parseYamlToJson("huge: 1e999\nneg: -2.5e400\ntiny: 1e-400\nlong: 1" +
                           std::string(400, '0') + "\n");
  EXPECT_EQ(j["huge"], "1e999");  // no infinity in JSON: the text, as for .inf
  EXPECT_EQ(j["neg"], "-2.5e400");
  EXPECT_EQ(j["tiny"], 0.0);
  EXPECT_EQ(j["long"], "1" + std::string(400, '0'));
}

TEST(YamlToJson, QuotedAndStrTaggedScalarsStayStrings) {
  Json j = parseYamlToJson("a: \"1\"\nb: '~'\nc: !!str true\nd: [1, '2']\n");
  EXPECT_EQ(j["a"], "1");
  EXPECT_EQ(j["b"], "~");
  EXPECT_EQ(j["c"], "true");
  EXPECT_EQ(j["d"], Json::parse(R"([1, "2"])"));
}

TEST(YamlToJson, ANonScalarKeyIsRefusedWithItsPosition) {
  try {
    parseYamlToJson("? [a, b]\n: 1\n");
    FAIL() << "accepted a sequence as a mapping key";
  } catch (const YAML::Exception& e) {
    EXPECT_NE(std::string(e.what()).find("a mapping key must be a scalar"), std::string::npos)
        << e.what();
  }
}

TEST(YamlToJson, TypingHooksReplaceScalarAndKeyResolution) {
  YamlTyping text_only{
      .plain = [](const std::string& s) -> Result<Json> { return Json("<" + s + ">"); },
      .key = [](const YAML::Node& k) -> Result<std::string> {
        if (!k.IsScalar()) return makeError("keys are words here");
        return "k_" + k.Scalar();
      }};
  auto j = yamlToJson(YAML::Load("a: 1\nb: [true, 'q']\n"), text_only);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ(*j, Json::parse(R"({"k_a": "<1>", "k_b": ["<true>", "q"]})"));

  auto refused = yamlToJson(YAML::Load("? {x: 1}\n: 2\n"), text_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "keys are words here");

  YamlTyping failing{.plain = [](const std::string& s) -> Result<Json> {
    return makeError("no plain scalars: " + s);
  }};
  auto failed = yamlToJson(YAML::Load("outer: {inner: [x]}"), failing);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "no plain scalars: x");
}

}  // namespace
}  // namespace kw
