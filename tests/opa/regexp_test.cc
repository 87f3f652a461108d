// The RE2-syntax matcher behind the regex builtins: Go's leftmost-first semantics, its syntax
// errors, and inputs far larger than a recursive matcher's stack allows.
#include "opa/regexp.h"

#include <gtest/gtest.h>

namespace kw::opa {
namespace {

using Span = std::optional<std::pair<size_t, size_t>>;

Span find(const std::string& pattern, const std::string& s, size_t from = 0) {
  auto re = Regexp::compile(pattern);
  EXPECT_TRUE(re.ok()) << pattern << ": " << (re.ok() ? "" : re.error().message);
  return re.ok() ? (*re)->find(s, from) : std::nullopt;
}

Span at(size_t b, size_t e) {
  return std::make_pair(b, e);
}

std::string compileError(const std::string& pattern) {
  auto re = Regexp::compile(pattern);
  EXPECT_FALSE(re.ok()) << pattern << " compiled";
  return re.ok() ? "" : re.error().message;
}

TEST(OpaRegexp, LeftmostFirstLikeGo) {
  EXPECT_EQ(find("a|ab", "ab"), at(0, 1));
  EXPECT_EQ(find("ab|a", "ab"), at(0, 2));
  EXPECT_EQ(find("b|ab", "xab"), at(1, 3));  // leftmost wins over alternative order
  EXPECT_EQ(find("a+", "baaa"), at(1, 4));
  EXPECT_EQ(find("a+?", "aaa"), at(0, 1));
  EXPECT_EQ(find("(?U)a+", "aaa"), at(0, 1));
  EXPECT_EQ(find("(?U)a+?", "aaa"), at(0, 3));
  EXPECT_EQ(find("a*", "baaa"), at(0, 0));
  EXPECT_EQ(find("", "abc"), at(0, 0));
  EXPECT_EQ(find("x", "abc"), std::nullopt);
  EXPECT_EQ(find("a{2,3}", "aaaa"), at(0, 3));
  EXPECT_EQ(find("a{2,3}?", "aaaa"), at(0, 2));
  EXPECT_EQ(find("a{2,}", "aaaa"), at(0, 4));
  EXPECT_EQ(find("a{2}", "a"), std::nullopt);
  EXPECT_EQ(find("a{,2}", "a{,2}"), at(0, 5));  // not a repetition: literal text
  EXPECT_EQ(find("(a*)*b", "aab"), at(0, 3));
  EXPECT_EQ(find("(?:ab)+", "ababa"), at(0, 4));
  EXPECT_EQ(find("(?P<x>a)(?<y>b)", "ab"), at(0, 2));
}

TEST(OpaRegexp, ClassesAndEscapes) {
  EXPECT_EQ(find("[^a]", "a\n"), at(1, 2));  // negated classes match newline
  EXPECT_EQ(find("[]a]+", "x]a"), at(1, 3));
  EXPECT_EQ(find("[a-]+", "x-a"), at(1, 3));
  EXPECT_EQ(find("[[:alpha:]]+", "12ab3"), at(2, 4));
  EXPECT_EQ(find("[[:^digit:]]", "12ab3"), at(2, 3));
  EXPECT_EQ(find("[\\d.]+", "v1.25"), at(1, 5));
  EXPECT_EQ(find("\\W", "ab c"), at(2, 3));
  EXPECT_EQ(find("\\s+", "a \t\nb"), at(1, 4));
  EXPECT_EQ(find("\\x41\\x{42}\\103", "ABC"), at(0, 3));
  EXPECT_EQ(find("\\Qa.b\\E", "axb a.b"), at(4, 7));
  EXPECT_EQ(find("\\.\\*\\-", "a.*-"), at(1, 4));
  EXPECT_EQ(find("\\t", "a\tb"), at(1, 2));
}

TEST(OpaRegexp, AnchorsAndBoundaries) {
  EXPECT_EQ(find("^b", "ab"), std::nullopt);
  EXPECT_EQ(find("^b", "ab", 1), std::nullopt);  // ^ is the start of the text, not of the search
  EXPECT_EQ(find("(?m)^b", "a\nb"), at(2, 3));
  EXPECT_EQ(find("a$", "a\n"), std::nullopt);  // without (?m), $ is the end of the text only
  EXPECT_EQ(find("(?m)a$", "a\n"), at(0, 1));
  EXPECT_EQ(find("\\Aa\\z", "a"), at(0, 1));
  EXPECT_EQ(find("\\bfoo\\b", "afoo foo"), at(5, 8));
  EXPECT_EQ(find("\\Bo", "foo"), at(1, 2));
  EXPECT_EQ(find("\\bb", "ab", 1), std::nullopt);  // \b sees the character before `from`
}

TEST(OpaRegexp, DotCaseAndUtf8) {
  EXPECT_EQ(find(".", "\na"), at(1, 2));
  EXPECT_EQ(find("(?s).", "\na"), at(0, 1));
  EXPECT_EQ(find("(?i)ABC", "xabc"), at(1, 4));
  EXPECT_EQ(find("(?i)[a-c]+", "ABCd"), at(0, 3));
  EXPECT_EQ(find("a(?i)b|c", "aB C"), at(0, 2));
  EXPECT_EQ(find("(?i:a)b", "Ab AB"), at(0, 2));
  EXPECT_EQ(find(".", "\xc3\xa9"), at(0, 2));  // one character, two bytes
  EXPECT_EQ(find("[\xc3\xa9]", "x\xc3\xa9"), at(1, 3));
  EXPECT_EQ(find("\\x{e9}", "\xc3\xa9"), at(0, 2));
  EXPECT_EQ(find(".", "\xff"), at(0, 1));  // an invalid byte is one character
}

TEST(OpaRegexp, SyntaxErrorsLikeGo) {
  EXPECT_EQ(compileError("(a"), "missing closing ): `(a`");
  EXPECT_EQ(compileError("a)"), "unexpected ): `a)`");
  EXPECT_EQ(compileError("[a"), "missing closing ]: `[a`");
  EXPECT_EQ(compileError("*a"), "missing argument to repetition operator: `*`");
  EXPECT_EQ(compileError("a**"), "invalid nested repetition operator: `**`");
  EXPECT_EQ(compileError("\\1"), "invalid escape sequence: `\\1`");
  EXPECT_EQ(compileError("a{1001}"), "invalid repeat count: `{1001}`");
  EXPECT_EQ(compileError("[z-a]"), "invalid character class range: `z-a`");
  EXPECT_EQ(compileError("(?=x)"), "invalid or unsupported Perl syntax: `(?=`");
  EXPECT_FALSE(compileError("\\pL").empty());
  EXPECT_FALSE(compileError("\\").empty());
  EXPECT_FALSE(compileError(std::string(300, '(') + std::string(300, ')')).empty());
  EXPECT_EQ(compileError("(a{1000}){1000}"), "expression too large");
}

TEST(OpaRegexp, HugeInputsNeitherRecurseNorBacktrack) {
  std::string s(1'000'000, 'a');
  EXPECT_EQ(find("((a|b)c?)*", s), at(0, s.size()));
  EXPECT_EQ(find("(a*)*$", s), at(0, s.size()));
  s += "!";
  EXPECT_EQ(find("(a|aa)*b", s), std::nullopt);  // exponential for a backtracker
  EXPECT_EQ(find(".*!", s), at(0, s.size()));
}

}  // namespace
}  // namespace kw::opa
