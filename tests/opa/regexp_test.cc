// Go's regexp on RE2: Go's leftmost-first matches and syntax (where RE2 20220601 reads it
// otherwise), Go's error texts, and inputs far larger than a recursive matcher's stack allows.
// Expected values are what Go 1.26's regexp returns for the same calls.
#include "opa/regexp.h"

#include <gtest/gtest.h>

namespace kw::opa {
namespace {

using Span = std::optional<Regexp::Span>;
using Spans = std::vector<Regexp::Span>;

std::shared_ptr<const Regexp> compiled(const std::string& pattern) {
  auto re = Regexp::compile(pattern);
  EXPECT_TRUE(re.ok()) << pattern << ": " << (re.ok() ? "" : re.error().message);
  return re.ok() ? *re : nullptr;
}

Spans all(const std::string& pattern, const std::string& s, int64_t n = -1) {
  auto re = compiled(pattern);
  return re ? re->findAll(s, n) : Spans{};
}

Span find(const std::string& pattern, const std::string& s) {
  Spans m = all(pattern, s, 1);
  return m.empty() ? Span() : Span(m[0]);
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

TEST(OpaRegexp, FindAllSkipsAnEmptyMatchRightAfterAMatch) {
  EXPECT_EQ(all("a*", "baaac"), (Spans{{0, 0}, {1, 4}, {5, 5}}));
  EXPECT_EQ(all("", "ab"), (Spans{{0, 0}, {1, 1}, {2, 2}}));
  EXPECT_EQ(all("a.", "paranormal", 2), (Spans{{1, 3}, {3, 5}}));
  EXPECT_EQ(all("a.", "paranormal", 0), Spans{});
  EXPECT_EQ(all("", "\xc3\xa9x"), (Spans{{0, 0}, {2, 2}, {3, 3}}));  // by character, not byte
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

TEST(OpaRegexp, UnicodeClassesAsGo) {
  EXPECT_EQ(find("\\pL+", "1 \xc3\xa9t\xc3\xa9 2"), at(2, 7));  // "été"
  EXPECT_EQ(find("\\p{Greek}", "a\xce\xb1"), at(1, 3));         // α
  EXPECT_EQ(find("\\PL", "ab1"), at(2, 3));
  EXPECT_EQ(find("[\\p{Lu}]+", "abCD"), at(2, 4));
  EXPECT_EQ(find("\\pN", "x\xd9\xa3"), at(1, 3));    // ARABIC-INDIC DIGIT THREE
  EXPECT_EQ(find("\\d", "\xd9\xa3"), std::nullopt);  // \d stays ASCII, as in Go
}

// Go 1.22 reads (?<name>...) as a named group; RE2 20220601 only knows (?P<name>...). The
// translation must leave the same text alone inside classes, after a backslash and in \Q...\E.
TEST(OpaRegexp, DotNetNamedGroupsOnlyWhereGoSeesThem) {
  EXPECT_EQ(find("(?<first>a)(?<second>b)\\z", "xab"), at(1, 3));
  EXPECT_EQ(find("[(?<x>)]+", "?<x>"), at(0, 4));  // a class of characters
  EXPECT_EQ(find("\\(?<x>", "<x>"), at(0, 3));     // an optional literal '(', then "<x>"
  EXPECT_EQ(find("\\Q(?<x>\\E", "a(?<x>"), at(1, 6));
  EXPECT_EQ(find("[[:alpha:](?<x>]+", "ab(?<x>"), at(0, 7));
}

TEST(OpaRegexp, AnchorsAndBoundaries) {
  EXPECT_EQ(find("^b", "ab"), std::nullopt);
  EXPECT_EQ(all("^\\w", "ab"), (Spans{{0, 1}}));  // ^ is the start of the text, not of a search
  EXPECT_EQ(find("(?m)^b", "a\nb"), at(2, 3));
  EXPECT_EQ(find("a$", "a\n"), std::nullopt);  // without (?m), $ is the end of the text only
  EXPECT_EQ(find("(?m)a$", "a\n"), at(0, 1));
  EXPECT_EQ(find("\\Aa\\z", "a"), at(0, 1));
  EXPECT_EQ(find("\\bfoo\\b", "afoo foo"), at(5, 8));
  EXPECT_EQ(find("\\Bo", "foo"), at(1, 2));
  EXPECT_EQ(all("\\b.", "ab"), (Spans{{0, 1}}));  // a later search sees the character before it
}

// RE2 steps through bytes and would report an empty match inside a multi-byte character.
TEST(OpaRegexp, EmptyMatchesOnlyBetweenCharacters) {
  const std::string e_acute = "\xc3\xa9";
  EXPECT_EQ(all("\\B", "a" + e_acute + "b"), Spans{});
  EXPECT_EQ(all("\\B", "\xc3\xa9"), (Spans{{0, 0}, {2, 2}}));
}

TEST(OpaRegexp, DotCaseAndUtf8) {
  EXPECT_EQ(find(".", "\na"), at(1, 2));
  EXPECT_EQ(find("(?s).", "\na"), at(0, 1));
  EXPECT_EQ(find("(?i)ABC", "xabc"), at(1, 4));
  EXPECT_EQ(find("(?i)[a-c]+", "ABCd"), at(0, 3));
  EXPECT_EQ(find("a(?i)b|c", "aB C"), at(0, 2));
  EXPECT_EQ(find("(?i:a)b", "Ab AB"), at(0, 2));
  EXPECT_EQ(find("(?i)\xc3\xa9", "\xc3\x89"), at(0, 2));  // é folds to É, as in Go
  EXPECT_EQ(find(".", "\xc3\xa9"), at(0, 2));             // one character, two bytes
  EXPECT_EQ(find("[\xc3\xa9]", "x\xc3\xa9"), at(1, 3));
  EXPECT_EQ(find("\\x{e9}", "\xc3\xa9"), at(0, 2));
}

// Go reads a byte that starts no valid UTF-8 character as U+FFFD, one byte wide.
TEST(OpaRegexp, InvalidUtf8InputReadsAsReplacementCharacters) {
  EXPECT_EQ(find(".", "\xff"), at(0, 1));
  const std::string truncated_euro = "\xe2\x82";  // two bad bytes
  EXPECT_EQ(all(".", "a\xff" + truncated_euro + "b"),
            (Spans{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}));
  EXPECT_EQ(find("\\x{fffd}+", "ab\xc0\xafz"), at(2, 4));  // an overlong '/' is two bad bytes
  EXPECT_EQ(find("b", std::string("\xff\xff") + "b"), at(2, 3));
  EXPECT_EQ(all("", "\xff"), (Spans{{0, 0}, {1, 1}}));
  const std::string surrogate = "\xed\xa0\x80";  // an encoded surrogate half: three bad bytes
  EXPECT_FALSE(compiled("^a.c$")->matches("a" + surrogate + "c"));
  EXPECT_TRUE(compiled("^a...c$")->matches("a" + surrogate + "c"));
}

TEST(OpaRegexp, SyntaxErrorsLikeGo) {
  const std::string kPrefix = "error parsing regexp: ";
  EXPECT_EQ(compileError("(a"), kPrefix + "missing closing ): `(a`");
  EXPECT_EQ(compileError("a)"), kPrefix + "unexpected ): `a)`");
  EXPECT_EQ(compileError("x[a"), kPrefix + "missing closing ]: `[a`");
  EXPECT_EQ(compileError("*a"), kPrefix + "missing argument to repetition operator: `*`");
  EXPECT_EQ(compileError("(+?)"), kPrefix + "missing argument to repetition operator: `+?`");
  EXPECT_EQ(compileError("a**"), kPrefix + "invalid nested repetition operator: `**`");
  EXPECT_EQ(compileError("\\1"), kPrefix + "invalid escape sequence: `\\1`");
  EXPECT_EQ(compileError("[\\q]"), kPrefix + "invalid escape sequence: `\\q`");
  EXPECT_EQ(compileError("a{1001}"), kPrefix + "invalid repeat count: `{1001}`");
  EXPECT_EQ(compileError("a{2,1}"), kPrefix + "invalid repeat count: `{2,1}`");
  EXPECT_EQ(compileError("(a{1000}){1000}"), kPrefix + "invalid repeat count: `{1000}`");
  EXPECT_EQ(compileError("[z-a]"), kPrefix + "invalid character class range: `z-a`");
  EXPECT_EQ(compileError("[[:word2:]]"), kPrefix + "invalid character class range: `[:word2:]`");
  EXPECT_EQ(compileError("\\p{Klingon}"),
            kPrefix + "invalid character class range: `\\p{Klingon}`");
  EXPECT_EQ(compileError("(?=x)"), kPrefix + "invalid or unsupported Perl syntax: `(?=`");
  EXPECT_EQ(compileError("(?i-)"), kPrefix + "invalid or unsupported Perl syntax: `(?i-)`");
  EXPECT_EQ(compileError("a\\"), kPrefix + "trailing backslash at end of expression: ``");
  EXPECT_EQ(compileError("(?P<n!>a)"), kPrefix + "invalid named capture: `(?P<n!>`");
  EXPECT_EQ(compileError("(?P<n"), kPrefix + "invalid named capture: `(?P<n`");
}

// The cases where RE2 alone would not say what Go says.
TEST(OpaRegexp, SyntaxErrorsWhereRe2DiffersFromGo) {
  const std::string kPrefix = "error parsing regexp: ";
  // Go refuses \C (any byte); RE2 would take it.
  EXPECT_EQ(compileError("a\\C"), kPrefix + "invalid escape sequence: `\\C`");
  EXPECT_EQ(compileError("[\\C]"), kPrefix + "invalid escape sequence: `\\C`");
  // RE2 names no text for invalid UTF-8; Go names the rest of the pattern from the bad byte.
  EXPECT_EQ(compileError("ab\xff" + std::string("c")), kPrefix + "invalid UTF-8: `\xff" + "c`");
  // RE2 20220601 takes encoded surrogate halves, Go does not.
  EXPECT_EQ(compileError("a\xed\xa0\x80"), kPrefix + "invalid UTF-8: `\xed\xa0\x80`");
  // The translated (?<name> is reported as written.
  EXPECT_EQ(compileError("(?<x>a"), kPrefix + "missing closing ): `(?<x>a`");
  EXPECT_EQ(compileError("(?<x>a))"), kPrefix + "unexpected ): `(?<x>a))`");
  EXPECT_EQ(compileError("(?<>a)"), kPrefix + "invalid named capture: `(?<>`");
  // Go 1.22 reads look-behind as a named group with a bad name.
  EXPECT_EQ(compileError("(?<=x)y"), kPrefix + "invalid named capture: `(?<=x)y`");
  EXPECT_EQ(compileError("(?<!x>)"), kPrefix + "invalid named capture: `(?<!x>`");
  // RE2 takes non-ASCII letters in a group's name, Go does not.
  EXPECT_EQ(compileError("(?P<\xc3\xa9>a)"), kPrefix + "invalid named capture: `(?P<\xc3\xa9>`");
}

// Linear time, no recursion on the input: a backtracking or recursive matcher would take
// exponential time or overflow its stack on these.
TEST(OpaRegexp, HugeInputsNeitherRecurseNorBacktrack) {
  std::string s(1'000'000, 'a');
  EXPECT_EQ(find("((a|b)c?)*", s), at(0, s.size()));
  EXPECT_EQ(find("(a*)*$", s), at(0, s.size()));
  EXPECT_EQ(find("(a*)*b", s), std::nullopt);
  s += "!";
  EXPECT_EQ(find("(a|aa)*b", s), std::nullopt);
  EXPECT_EQ(find(".*!", s), at(0, s.size()));
  EXPECT_EQ(all("a{1000}", s).size(), 1000u);
}

// RE2's memory budget bounds a pattern: Go would compile these (its bound is higher), RE2
// refuses them as its program would not fit.
TEST(OpaRegexp, PatternsBeyondTheMemoryBoundAreRefused) {
  std::string big;
  for (int i = 0; i < 40; ++i) big += "\\pL{1000}";
  EXPECT_EQ(compileError(big), "error parsing regexp: expression too large: `" + big + "`");
  std::string nested(5000, '(');
  nested += "a" + std::string(5000, ')');
  // Go refuses nesting deeper than 1000 ("expression nests too deeply"); RE2 needs no deep
  // recursion for it, and the wrapper does not add Go's limit.
  EXPECT_TRUE(Regexp::compile(nested).ok());
}

}  // namespace
}  // namespace kw::opa
