// The host builtins against OPA's documented behaviour (Go semantics where OPA defers to Go).
#include "opa/builtins.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "support/cant_run.h"

namespace kw::opa {
namespace {

struct Outcome {
  bool ok = false;
  std::optional<Json> value;  // nullopt on success: undefined
  std::string error;
};

Outcome run(std::string_view name, std::vector<Json> args, BuiltinContext* ctx = nullptr) {
  BuiltinContext local;
  auto r = callBuiltin(name, args, ctx ? *ctx : local);
  if (!r) return {false, std::nullopt, r.error().message};
  return {true, *r, ""};
}

// The builtin's value; fails the test on an error or an undefined result.
Json value(std::string_view name, std::vector<Json> args) {
  Outcome o = run(name, std::move(args));
  EXPECT_TRUE(o.ok) << name << ": " << o.error;
  EXPECT_TRUE(o.value.has_value()) << name << ": undefined";
  return o.value.value_or(Json());
}

std::string error(std::string_view name, std::vector<Json> args) {
  Outcome o = run(name, std::move(args));
  EXPECT_FALSE(o.ok) << name << " succeeded with " << (o.value ? o.value->dump() : "undefined");
  return o.error;
}

std::string sprintf(std::string_view format, Json args) {
  return value("sprintf", {format, std::move(args)}).get<std::string>();
}

TEST(BuiltinRegistry, ListsKubewardensBuiltinsSorted) {
  std::vector<std::string> expected = {"base64url.encode_no_pad",
                                       "date",
                                       "glob.quote_meta",
                                       "hex.decode",
                                       "hex.encode",
                                       "json.is_valid",
                                       "json.patch",
                                       "parse_rfc3339_ns",
                                       "regex.find_n",
                                       "regex.split",
                                       "regex.template_match",
                                       "semver.compare",
                                       "semver.is_valid",
                                       "sprintf",
                                       "time.now_ns",
                                       "trace",
                                       "urlquery.decode",
                                       "urlquery.decode_object",
                                       "urlquery.encode",
                                       "urlquery.encode_object",
                                       "yaml.is_valid",
                                       "yaml.marshal",
                                       "yaml.unmarshal"};
  EXPECT_EQ(implementedBuiltins(), expected);
  EXPECT_EQ(findBuiltin("custom.func2"), nullptr);
  EXPECT_NE(findBuiltin("sprintf"), nullptr);
}

TEST(BuiltinRegistry, ChecksArgumentsCountAndTypes) {
  EXPECT_EQ(error("hex.encode", {}), "hex.encode: expects 1 arguments, got 0");
  EXPECT_EQ(error("hex.encode", {1}), "hex.encode: operand 1 must be string but got number");
  EXPECT_EQ(error("nope", {}), "nope: not implemented");
}

TEST(BuiltinTrace, ReturnsTrueAndRecordsTheNote) {
  std::vector<std::string> traces;
  BuiltinContext ctx;
  ctx.traces = &traces;
  Outcome o = run("trace", {"hello"}, &ctx);
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(*o.value, true);
  EXPECT_EQ(traces, std::vector<std::string>{"hello"});
  EXPECT_EQ(error("trace", {Json::array()}), "trace: operand 1 must be string but got array");
}

TEST(BuiltinEncoding, Base64UrlWithoutPadding) {
  EXPECT_EQ(value("base64url.encode_no_pad", {""}), "");
  EXPECT_EQ(value("base64url.encode_no_pad", {"f"}), "Zg");
  EXPECT_EQ(value("base64url.encode_no_pad", {"fo"}), "Zm8");
  EXPECT_EQ(value("base64url.encode_no_pad", {"foo"}), "Zm9v");
  EXPECT_EQ(value("base64url.encode_no_pad", {"\xfb\xff"}), "-_8");
}

TEST(BuiltinEncoding, Hex) {
  EXPECT_EQ(value("hex.encode", {"hi\n"}), "68690a");
  EXPECT_EQ(value("hex.decode", {"68690A"}), "hi\n");
  EXPECT_EQ(error("hex.decode", {"zz"}), "hex.decode: encoding/hex: invalid byte: U+007A 'z'");
  EXPECT_EQ(error("hex.decode", {"abc"}), "hex.decode: encoding/hex: odd length hex string");
}

TEST(BuiltinUrlquery, EncodeAndDecode) {
  EXPECT_EQ(value("urlquery.encode", {"a b&c=d/\xc3\xa9~-_."}), "a+b%26c%3Dd%2F%C3%A9~-_.");
  EXPECT_EQ(value("urlquery.decode", {"a+b%26c%3d"}), "a b&c=");
  EXPECT_EQ(error("urlquery.decode", {"x%zz"}), "urlquery.decode: invalid URL escape \"%zz\"");
  EXPECT_EQ(error("urlquery.decode", {"%4"}), "urlquery.decode: invalid URL escape \"%4\"");
}

TEST(BuiltinUrlquery, Objects) {
  Json obj = {{"b", {"x", "y z"}}, {"a", "1"}};
  EXPECT_EQ(value("urlquery.encode_object", {obj}), "a=1&b=x&b=y+z");
  EXPECT_EQ(value("urlquery.encode_object", {Json::object()}), "");
  EXPECT_FALSE(error("urlquery.encode_object", {Json{{"a", 1}}}).empty());
  Json decoded = {{"a", {"1"}}, {"b", {"x", "y z"}}, {"c", {""}}};
  EXPECT_EQ(value("urlquery.decode_object", {"a=1&b=x&&b=y+z&c"}), decoded);
  EXPECT_EQ(error("urlquery.decode_object", {"a=1;b=2"}),
            "urlquery.decode_object: invalid semicolon separator in query");
  EXPECT_FALSE(error("urlquery.decode_object", {"a=%zz"}).empty());
}

TEST(BuiltinJson, IsValid) {
  EXPECT_EQ(value("json.is_valid", {"{\"a\": [1, 2]}"}), true);
  EXPECT_EQ(value("json.is_valid", {"\"s\""}), true);
  EXPECT_EQ(value("json.is_valid", {"{"}), false);
}

TEST(BuiltinJson, PatchAppliesRfc6902) {
  Json doc = {{"a", {{"foo", 1}}}};
  Json add = Json::array({{{"op", "add"}, {"path", "/a/bar"}, {"value", 2}}});
  EXPECT_EQ(value("json.patch", {doc, add}), (Json{{"a", {{"foo", 1}, {"bar", 2}}}}));
  // Paths may be arrays of segments, which need no escaping.
  Json by_array = Json::array({{{"op", "add"}, {"path", {"a", "x/y"}}, {"value", true}}});
  EXPECT_EQ(value("json.patch", {doc, by_array})["a"]["x/y"], true);
  Json moves = Json::array({{{"op", "copy"}, {"from", "/a/foo"}, {"path", "/b"}},
                            {{"op", "move"}, {"from", "/a"}, {"path", "/c"}},
                            {{"op", "test"}, {"path", "/b"}, {"value", 1}}});
  EXPECT_EQ(value("json.patch", {doc, moves}), (Json{{"b", 1}, {"c", {{"foo", 1}}}}));
}

TEST(BuiltinJson, PatchThatDoesNotApplyIsUndefined) {
  Json doc = {{"a", 1}};
  for (const Json& op : {Json{{"op", "remove"}, {"path", "/missing"}},
                         Json{{"op", "test"}, {"path", "/a"}, {"value", 2}},
                         Json{{"op", "add"}, {"path", "/x/y"}, {"value", 2}}}) {
    Outcome o = run("json.patch", {doc, Json::array({op})});
    EXPECT_TRUE(o.ok) << o.error;
    EXPECT_FALSE(o.value.has_value()) << op.dump();
  }
  EXPECT_FALSE(error("json.patch", {doc, Json::array({{{"op", "frob"}, {"path", "/a"}}})}).empty());
  EXPECT_FALSE(error("json.patch", {doc, Json::array({{{"op", "add"}, {"path", "/b"}}})}).empty());
  EXPECT_FALSE(error("json.patch", {doc, Json::object()}).empty());
}

TEST(BuiltinYaml, MarshalWritesGoYamlBlockStyle) {
  Json v = {{"b", {1, "two", 1.5}}, {"a", {{"c", true}, {"d", nullptr}}}, {"e", Json::array()}};
  EXPECT_EQ(value("yaml.marshal", {v}), "a:\n  c: true\n  d: null\nb:\n- 1\n- two\n- 1.5\ne: []\n");
  Json list = Json::array({{{"a", 1}, {"b", {{"c", 2}}}}, Json::array({1, 2})});
  EXPECT_EQ(value("yaml.marshal", {list}), "- a: 1\n  b:\n    c: 2\n- - 1\n  - 2\n");
  EXPECT_EQ(value("yaml.marshal", {"text"}), "text\n");
  EXPECT_EQ(value("yaml.marshal", {Json::object()}), "{}\n");
}

TEST(BuiltinYaml, MarshalQuotesStringsThatWouldChangeMeaning) {
  Json v = {{"s", "true"},        {"t", ""},       {"u", "a: b"},      {"v", "123"},
            {"w", "multi\nline"}, {"x", "- item"}, {"y", "tab\there"}, {"z", "it's"}};
  EXPECT_EQ(value("yaml.marshal", {v}),
            "s: \"true\"\nt: \"\"\nu: 'a: b'\nv: \"123\"\nw: |-\n  multi\n  line\n"
            "x: '- item'\n\"y\": \"tab\\there\"\nz: it's\n");  // y is a YAML 1.1 bool
  // go-yaml orders keys naturally: non-letters first, digit runs by value.
  Json keys = {{"a10", 1}, {"a2", 2}, {"B", 3}, {"1", 4}};
  EXPECT_EQ(value("yaml.marshal", {keys}), "\"1\": 4\nB: 3\na2: 2\na10: 1\n");
}

TEST(BuiltinYaml, UnmarshalUsesYaml11Scalars) {
  Json expected = {{"a", 1},   {"b", {"x", "y"}}, {"c", true},     {"d", nullptr}, {"e", 1.5},
                   {"f", "1"}, {"g", "plain"},    {"h", "line\n"}, {"i", 493},     {"j", false}};
  EXPECT_EQ(value("yaml.unmarshal",
                  {"a: 1\nb: [x, 'y']\nc: yes\nd: ~\ne: 1.5\nf: '1'\ng: plain\nh: |\n  line\n"
                   "i: 0755\nj: off\n"}),
            expected);
  EXPECT_EQ(value("yaml.unmarshal", {""}), nullptr);
  EXPECT_EQ(value("yaml.unmarshal", {"1: one"}), (Json{{"1", "one"}}));
  EXPECT_FALSE(error("yaml.unmarshal", {"a: ["}).empty());
  EXPECT_FALSE(error("yaml.unmarshal", {"x: .inf"}).empty());  // JSON has no infinity
}

TEST(BuiltinYaml, RoundTripsThroughMarshal) {
  Json v = {{"name", "x"}, {"list", {"true", "", "a: b", 3, 2.5, nullptr}}, {"n", {{"k", "v"}}}};
  auto text = value("yaml.marshal", {v});
  EXPECT_EQ(value("yaml.unmarshal", {text}), v) << text;
}

TEST(BuiltinYaml, IsValid) {
  EXPECT_EQ(value("yaml.is_valid", {"a: b\nc: [1, 2]\n"}), true);
  EXPECT_EQ(value("yaml.is_valid", {"a: ["}), false);
  EXPECT_EQ(value("yaml.is_valid", {"a: b: c"}), false);
}

TEST(BuiltinGlob, QuoteMeta) {
  EXPECT_EQ(value("glob.quote_meta", {"*.github.com"}), "\\*.github.com");
  EXPECT_EQ(value("glob.quote_meta", {"[a-z]{x,y}?\\!"}), "\\[a-z\\]\\{x,y\\}\\?\\\\!");
}

TEST(BuiltinRegex, SplitFollowsGo) {
  EXPECT_EQ(value("regex.split", {"a", "banana"}), (Json{"b", "n", "n", ""}));
  EXPECT_EQ(value("regex.split", {",", ""}), (Json{""}));
  EXPECT_EQ(value("regex.split", {"", "abc"}), (Json{"a", "b", "c"}));
  EXPECT_EQ(value("regex.split", {"[0-9]+", "a1b22c"}), (Json{"a", "b", "c"}));
  EXPECT_EQ(value("regex.split", {"x*", "axb"}), (Json{"a", "b"}));
}

TEST(BuiltinRegex, FindN) {
  EXPECT_EQ(value("regex.find_n", {"a.", "paranormal", -1}), (Json{"ar", "an", "al"}));
  EXPECT_EQ(value("regex.find_n", {"a.", "paranormal", 2}), (Json{"ar", "an"}));
  EXPECT_EQ(value("regex.find_n", {"z", "paranormal", -1}), Json::array());
  EXPECT_EQ(value("regex.find_n", {"(?i)a", "aAb", -1}), (Json{"a", "A"}));
  EXPECT_EQ(value("regex.find_n", {"(?P<word>[a-z]+)\\z", "12 ab cd", -1}), (Json{"cd"}));
  EXPECT_EQ(value("regex.find_n", {"^\\w", "ab", -1}), (Json{"a"}));  // ^ only at the start
  EXPECT_NE(error("regex.find_n", {"(", "x", -1}).find("error parsing regexp"), std::string::npos);
  EXPECT_NE(error("regex.find_n", {"(a)\\1", "aa", -1}).find("invalid escape"), std::string::npos);
  EXPECT_FALSE(error("regex.find_n", {"(?=a)", "a", -1}).empty());  // RE2 has no look-around
  EXPECT_FALSE(error("regex.find_n", {"a", "a", "1"}).empty());
}

TEST(BuiltinRegex, LongInputsAreSafe) {
  std::string s;
  for (int i = 0; i < 100000; ++i) s += "ab,";
  EXPECT_EQ(value("regex.split", {",", s}).size(), 100001u);
  EXPECT_EQ(value("regex.find_n", {"((a|b)c?)*", s, 1}), (Json{"ab"}));
  EXPECT_EQ(value("regex.template_match", {"{[ab,]*}", s, "{", "}"}), true);
}

TEST(BuiltinRegex, TemplateMatch) {
  EXPECT_EQ(value("regex.template_match", {"urn:foo:{.*}", "urn:foo:bar:baz", "{", "}"}), true);
  EXPECT_EQ(
      value("regex.template_match", {"urn:foo.bar.com:{.*}", "urn:foo.com:bar:baz", "{", "}"}),
      false);
  EXPECT_EQ(value("regex.template_match", {"<[a-z]+>-<[0-9]+>", "abc-42", "<", ">"}), true);
  EXPECT_EQ(value("regex.template_match", {"<[a-z]+>-<[0-9]+>", "abc-42x", "<", ">"}), false);
  EXPECT_EQ(error("regex.template_match", {"urn:{.*", "urn:x", "{", "}"}),
            "regex.template_match: unbalanced braces in \"urn:{.*\"");
  EXPECT_FALSE(error("regex.template_match", {"a", "a", "{{", "}"}).empty());
}

TEST(BuiltinSemver, IsValid) {
  for (const char* ok : {"1.0.0", "0.0.0", "1.0.0-rc.1+build.5", "1.2.3-alpha-1", "1.0.0+001"}) {
    EXPECT_EQ(value("semver.is_valid", {ok}), true) << ok;
  }
  for (const char* bad :
       {"v1.0.0", "01.0.0", "1.0", "1.0.0-", "1.0.0-01", "1.0.0+", "a.b.c", "1.0.0.0"}) {
    EXPECT_EQ(value("semver.is_valid", {bad}), false) << bad;
  }
  EXPECT_EQ(value("semver.is_valid", {1}), false);
}

TEST(BuiltinSemver, ComparesByPrecedence) {
  std::vector<std::string> ordered = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                      "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                                      "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                                      "1.1.0",       "2.0.0"};
  for (size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_EQ(value("semver.compare", {ordered[i], ordered[i + 1]}), -1) << ordered[i];
    EXPECT_EQ(value("semver.compare", {ordered[i + 1], ordered[i]}), 1) << ordered[i];
  }
  EXPECT_EQ(value("semver.compare", {"1.0.0+a", "1.0.0+b"}), 0);  // build metadata is ignored
  EXPECT_EQ(error("semver.compare", {"1.0.0", "x"}),
            "semver.compare: operand 2: string \"x\" is not a valid SemVer");
}

TEST(BuiltinSprintf, CommonVerbs) {
  EXPECT_EQ(sprintf("hello %s, %d items, %v", {"world", 3, {1, "a"}}),
            "hello world, 3 items, [1, \"a\"]");
  EXPECT_EQ(sprintf("image '%v' comes from untrusted registry", {"nginx"}),
            "image 'nginx' comes from untrusted registry");
  EXPECT_EQ(sprintf("%v %v %v", {true, nullptr, Json{{"b", 1}, {"a", "x"}}}),
            "true null {\"a\": \"x\", \"b\": 1}");
  EXPECT_EQ(sprintf("%5d|%-5d|%05d|%+d", {42, 42, -42, 7}), "   42|42   |-0042|+7");
  EXPECT_EQ(sprintf("%x %X %#x %o %b %c", {255, 255, 255, 8, 5, 65}), "ff FF 0xff 10 101 A");
  EXPECT_EQ(sprintf("%q %t %T %T", {"a\"b", true, 1, "s"}), "\"a\\\"b\" true int string");
  EXPECT_EQ(sprintf("%[2]s %[1]s %%", {"a", "b"}), "b a %");
  EXPECT_EQ(sprintf("%.2s|%6.2s|%-4s|", {"abc", "abc", "ab"}), "ab|    ab|ab  |");
}

TEST(BuiltinSprintf, FloatsPrintLikeGo) {
  EXPECT_EQ(sprintf("%v", {1.5}), "1.5");
  EXPECT_EQ(sprintf("%v", {2.0}), "2");
  EXPECT_EQ(sprintf("%v", {1234567.0}), "1.234567e+06");
  EXPECT_EQ(sprintf("%v", {100000.0}), "100000");
  EXPECT_EQ(sprintf("%v", {1e21}), "1e+21");
  EXPECT_EQ(sprintf("%v", {0.0001}), "0.0001");
  EXPECT_EQ(sprintf("%v", {0.00001}), "1e-05");
  EXPECT_EQ(sprintf("%.2f|%8.3f|%f", {3.14159, 2.5, 1.0}), "3.14|   2.500|1.000000");
  EXPECT_EQ(sprintf("%e|%E", {1234.5678, 0.5}), "1.234568e+03|5.000000E-01");
  EXPECT_EQ(sprintf("%g|%.3g|%g", {0.00001234, 3.14159, 100.0}), "1.234e-05|3.14|100");
  EXPECT_EQ(sprintf("%v", {100000000}), "100000000");  // integers stay integers
  EXPECT_EQ(formatGoFloat(-0.5), "-0.5");
}

TEST(BuiltinSprintf, GoErrorForms) {
  EXPECT_EQ(sprintf("%d", {"a"}), "%!d(string=a)");
  EXPECT_EQ(sprintf("%d %d", {1}), "1 %!d(MISSING)");
  EXPECT_EQ(sprintf("%d", {1, "x"}), "1%!(EXTRA string=x)");
  EXPECT_EQ(sprintf("%s", {1.5}), "%!s(float64=1.5)");
  EXPECT_EQ(sprintf("%z", {1}), "%!z(int=1)");
  EXPECT_EQ(sprintf("100%", Json::array()), "100%!(NOVERB)");
  EXPECT_EQ(sprintf("%[3]d", {1}), "%!d(BADINDEX)");
  EXPECT_EQ(error("sprintf", {"%s", "x"}), "sprintf: operand 2 must be array but got string");
}

TEST(BuiltinTime, NowIsFixedWithinAnEvaluation) {
  auto before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  BuiltinContext ctx;
  Outcome first = run("time.now_ns", {}, &ctx);
  Outcome second = run("time.now_ns", {}, &ctx);
  ASSERT_TRUE(first.ok && second.ok);
  EXPECT_GE(first.value->get<int64_t>(), before);
  EXPECT_EQ(*first.value, *second.value);
}

TEST(BuiltinTime, ParseRfc3339Ns) {
  EXPECT_EQ(value("parse_rfc3339_ns", {"1970-01-01T00:00:00Z"}), 0);
  EXPECT_EQ(value("parse_rfc3339_ns", {"2021-01-01T00:00:00.5+01:00"}), 1609455600500000000);
  EXPECT_EQ(value("parse_rfc3339_ns", {"1969-12-31T23:59:59.999999999Z"}), -1);
  EXPECT_EQ(value("parse_rfc3339_ns", {"2024-02-29T12:00:00-00:30"}), 1709209800000000000);
  EXPECT_FALSE(error("parse_rfc3339_ns", {"2021-02-30T00:00:00Z"}).empty());
  EXPECT_FALSE(error("parse_rfc3339_ns", {"2021-01-01 00:00:00Z"}).empty());
  EXPECT_FALSE(error("parse_rfc3339_ns", {"2021-01-01T00:00:00"}).empty());
  EXPECT_FALSE(error("parse_rfc3339_ns", {"not a time"}).empty());
}

TEST(BuiltinTime, Date) {
  EXPECT_EQ(value("date", {0}), (Json{1970, 1, 1}));
  EXPECT_EQ(value("date", {1609455600500000000}), (Json{2020, 12, 31}));
  EXPECT_EQ(value("date", {Json{1709209800000000000, "UTC"}}), (Json{2024, 2, 29}));
  EXPECT_EQ(value("date", {-1}), (Json{1969, 12, 31}));
  EXPECT_FALSE(error("date", {Json{0, "Mars/Olympus"}}).empty());
  EXPECT_FALSE(error("date", {Json{0, "../../etc/passwd"}}).empty());
  EXPECT_FALSE(error("date", {"yesterday"}).empty());
}

TEST(BuiltinTime, DateInNamedZones) {
  if (!std::filesystem::exists("/usr/share/zoneinfo/Europe/Rome")) {
    KW_CANT_RUN() << "no time zone database on this host";
  }
  EXPECT_EQ(value("date", {Json{642045600000000000, "US/Pacific"}}), (Json{1990, 5, 6}));
  EXPECT_EQ(value("date", {Json{1711927800000000000, "Europe/Rome"}}), (Json{2024, 4, 1}));
  EXPECT_EQ(value("date", {Json{1711927800000000000, ""}}), (Json{2024, 3, 31}));
}

}  // namespace
}  // namespace kw::opa
