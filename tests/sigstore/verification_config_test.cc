#include "sigstore/verification_config.h"

#include <gtest/gtest.h>

namespace kw::sigstore {
namespace {

TEST(SigstoreVerificationConfig, ParsesTheSpecExample) {
  auto config = parseVerificationConfig(R"(
apiVersion: v1
allOf:
  - kind: githubAction
    owner: kubewarden
anyOf:
  minimumMatches: 2
  signatures:
    - kind: pubKey
      key: "KEY"
      annotations: {env: prod}
    - kind: genericIssuer
      issuer: https://token.actions.githubusercontent.com
      subject: {urlPrefix: https://github.com/kubewarden}
    - kind: genericIssuer
      issuer: https://accounts.google.com
      subject: {equal: me@example.com}
)",
                                        "test.yml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_TRUE(config->all_of.has_value());
  EXPECT_EQ(std::get<GithubConstraint>(config->all_of->at(0).what).owner, "kubewarden");
  ASSERT_TRUE(config->any_of.has_value());
  EXPECT_EQ(config->any_of->minimum_matches, 2u);
  ASSERT_EQ(config->any_of->signatures.size(), 3u);
  EXPECT_EQ(config->any_of->signatures[0].annotations->at("env"), "prod");
  const auto& prefix = std::get<IssuerConstraint>(config->any_of->signatures[1].what);
  EXPECT_TRUE(prefix.url_prefix);
  const auto& equal = std::get<IssuerConstraint>(config->any_of->signatures[2].what);
  EXPECT_FALSE(equal.url_prefix);
  EXPECT_EQ(equal.subject, "me@example.com");
}

TEST(SigstoreVerificationConfig, MinimumMatchesDefaultsToOne) {
  auto config = parseVerificationConfig(
      "apiVersion: v1\nanyOf:\n  signatures:\n    - kind: githubAction\n      owner: o\n", "t");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->any_of->minimum_matches, 1u);
  EXPECT_FALSE(config->all_of.has_value());
}

TEST(SigstoreVerificationConfig, RejectsBadFilesWithUpstreamsWords) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"apiVersion: v1\n", "config is missing signatures in both allOf and anyOff list"},
      {"apiVersion: v2\nallOf: []\n", "Not a supported configuration version"},
      {"allOf: []\n", "missing field `apiVersion`"},
      {"apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: x\n",
       "missing field `subject`"},
      {"apiVersion: v1\nallOf:\n  - kind: pubKey\n", "missing field `key`"},
      {"apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: k\n    colour: red\n",
       "unknown field `colour`"},
      {"apiVersion: v1\nallOf:\n  - kind: magic\n", "unknown kind `magic`"},
      {"apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: x\n    subject: {like: y}\n",
       "`subject` must be"},
      {"apiVersion: v1\nallOf: [\n", "cannot parse verification config"},
  };
  for (const auto& c : cases) {
    auto config = parseVerificationConfig(c.yaml, "verification.yml");
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_NE(config.error().message.find("verification.yml"), std::string::npos);
    EXPECT_NE(config.error().message.find(c.expected), std::string::npos)
        << c.yaml << " → " << config.error().message;
  }
}

// Issue 17, point 3: configs that would accept an unsigned image are refused when read.
TEST(SigstoreVerificationConfig, RefusesConfigsThatConstrainNothing) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const std::string key = "    - kind: pubKey\n      key: k\n";
  const Case cases[] = {
      {"apiVersion: v1\nallOf: []\n", "allOf lists no signature: it would accept any image"},
      {"apiVersion: v1\nanyOf:\n  signatures: []\n",
       "`minimumMatches` is 1 but only 0 signature(s) are listed"},
  };
  for (const auto& c : cases) {
    auto config = parseVerificationConfig(c.yaml, "verification.yml");
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_NE(config.error().message.find(c.expected), std::string::npos) << config.error().message;
  }
  auto zero = parseVerificationConfig(
      "apiVersion: v1\nanyOf:\n  minimumMatches: 0\n  signatures:\n" + key, "v.yml");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message,
            "verification config v.yml: anyOf: `minimumMatches` is 0: it would accept any image; "
            "it must be at least 1");
  auto too_many = parseVerificationConfig(
      "apiVersion: v1\nanyOf:\n  minimumMatches: 3\n  signatures:\n" + key + key, "v.yml");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().message,
            "verification config v.yml: anyOf: `minimumMatches` is 3 but only 2 signature(s) are "
            "listed: it can never be met");
  EXPECT_TRUE(parseVerificationConfig(
                  "apiVersion: v1\nanyOf:\n  minimumMatches: 2\n  signatures:\n" + key + key, "v")
                  .ok());
}

TEST(SigstoreVerificationConfig, MissingFileIsAClearError) {
  auto config = readVerificationConfig("/nonexistent/verification.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("/nonexistent/verification.yml"), std::string::npos);
  EXPECT_NE(config.error().message.find("No such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace kw::sigstore
