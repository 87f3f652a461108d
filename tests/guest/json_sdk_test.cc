// Native tests for the guest SDK's C JSON DOM (guest/sdk/json.c, linked as kw_guest_json_native).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "json.h"
}

namespace {

// Owns a document plus a heap copy of the input sized exactly, so any read past the end is a
// real out-of-bounds access that sanitizers would flag.
class Parsed {
 public:
  explicit Parsed(const std::string& text, uint32_t max_depth = KW_JSON_DEFAULT_MAX_DEPTH)
      : input_(text.begin(), text.end()) {
    kw_json_doc_init(&doc_);
    doc_.max_depth = max_depth;
    err_ = kw_json_parse(&doc_, input_.data(), input_.size());
  }
  ~Parsed() { kw_json_doc_free(&doc_); }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  kw_json_error err() const { return err_; }
  kw_json* root() const { return doc_.root; }
  kw_json_doc* doc() { return &doc_; }
  const char* input() const { return input_.data(); }
  size_t offset() const { return doc_.error_offset; }

 private:
  std::vector<char> input_;
  kw_json_doc doc_;
  kw_json_error err_;
};

std::string Str(const kw_json* v) {
  size_t len = 0;
  const char* s = kw_json_str(v, &len);
  return s ? std::string(s, len) : std::string("<not a string>");
}

std::string Write(const kw_json* v) {
  kw_sb sb;
  kw_sb_init(&sb);
  EXPECT_TRUE(kw_json_write(&sb, v));
  std::string out(kw_sb_cstr(&sb), sb.len);
  kw_sb_free(&sb);
  return out;
}

kw_json_error ParseErr(const std::string& text) {
  return Parsed(text).err();
}

const char kPod[] = R"({
  "request": {
    "uid": "1299d386",
    "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "object": {
      "metadata": {"name": "nginx", "labels": {"app": "web", "kubewarden.io/mutated": "true"}},
      "spec": {
        "containers": [
          {"name": "a", "image": "nginx", "securityContext": {"privileged": false}},
          {"name": "b", "image": "busybox", "securityContext": {"privileged": true},
           "ports": [{"containerPort": 80}, {"containerPort": 8443}]}
        ],
        "priority": -12.5e+3,
        "hostNetwork": null
      }
    }
  },
  "settings": {}
})";

TEST(GuestJsonSdk, ParsesNestedDocument) {
  Parsed p(kPod);
  ASSERT_EQ(p.err(), KW_JSON_OK);
  ASSERT_TRUE(kw_json_is(p.root(), KW_JSON_OBJECT));
  EXPECT_EQ(p.root()->len, 2u);
  const kw_json* req = kw_json_get(p.root(), "request");
  EXPECT_EQ(Str(kw_json_path(req, "kind.kind")), "Pod");
  const kw_json* containers = kw_json_path(req, "object.spec.containers");
  ASSERT_TRUE(kw_json_is(containers, KW_JSON_ARRAY));
  EXPECT_EQ(containers->len, 2u);
  EXPECT_EQ(Str(kw_json_get(kw_json_index(containers, 1), "image")), "busybox");
  EXPECT_FALSE(kw_json_is_true(kw_json_path(containers, "[0].securityContext.privileged")));
  EXPECT_TRUE(kw_json_is_true(kw_json_path(containers, "[1].securityContext.privileged")));
  int64_t port = 0;
  EXPECT_TRUE(
      kw_json_int64(kw_json_path(req, "object.spec.containers[1].ports[1].containerPort"), &port));
  EXPECT_EQ(port, 8443);
  double prio = 0;
  EXPECT_TRUE(kw_json_number(kw_json_path(req, "object.spec.priority"), &prio));
  EXPECT_DOUBLE_EQ(prio, -12500.0);
  EXPECT_TRUE(kw_json_is(kw_json_path(req, "object.spec.hostNetwork"), KW_JSON_NULL));
  EXPECT_TRUE(kw_json_is(kw_json_get(p.root(), "settings"), KW_JSON_OBJECT));
  EXPECT_EQ(kw_json_get(p.root(), "settings")->len, 0u);
}

TEST(GuestJsonSdk, LookupsAreNullSafe) {
  Parsed p(kPod);
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(kw_json_get(nullptr, "x"), nullptr);
  EXPECT_EQ(kw_json_path(p.root(), "request.missing.deeper"), nullptr);
  EXPECT_EQ(kw_json_path(p.root(), "request.object.spec.containers[2]"), nullptr);
  EXPECT_EQ(kw_json_path(p.root(), "request.object.spec.containers[x]"), nullptr);
  EXPECT_EQ(kw_json_path(p.root(), "request.uid.x"), nullptr);             // Not an object.
  EXPECT_EQ(kw_json_index(kw_json_get(p.root(), "request"), 0), nullptr);  // Not an array.
  EXPECT_EQ(kw_json_first(kw_json_path(p.root(), "request.uid")), nullptr);
  EXPECT_EQ(kw_json_str(kw_json_get(p.root(), "request"), nullptr), nullptr);
  EXPECT_FALSE(kw_json_str_eq(nullptr, ""));
  int64_t i = 0;
  EXPECT_FALSE(kw_json_int64(kw_json_path(p.root(), "request.uid"), &i));
}

TEST(GuestJsonSdk, PathEscapesDotsInKeys) {
  Parsed p(kPod);
  ASSERT_EQ(p.err(), KW_JSON_OK);
  const kw_json* v =
      kw_json_path(p.root(), "request.object.metadata.labels.kubewarden\\.io/mutated");
  EXPECT_EQ(Str(v), "true");
  EXPECT_EQ(kw_json_path(p.root(), "request.object.metadata.labels.kubewarden.io/mutated"),
            nullptr);
}

TEST(GuestJsonSdk, UnescapedStringsAreZeroCopy) {
  Parsed p(R"({"key": "plain value", "esc": "a\nb"})");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  const kw_json* plain = kw_json_get(p.root(), "key");
  EXPECT_EQ(plain->u.str, p.input() + 9);
  EXPECT_EQ(plain->key, p.input() + 2);
  const kw_json* esc = kw_json_get(p.root(), "esc");
  EXPECT_EQ(Str(esc), "a\nb");
}

TEST(GuestJsonSdk, DecodesEscapes) {
  Parsed p(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "a\u0000b", "\u0041"])");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(Str(kw_json_index(p.root(), 0)), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(Str(kw_json_index(p.root(), 1)), "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Str(kw_json_index(p.root(), 2)), "\xF0\x9F\x98\x80");
  EXPECT_EQ(Str(kw_json_index(p.root(), 3)), std::string("a\0b", 3));
  EXPECT_EQ(Str(kw_json_index(p.root(), 4)), "A");
}

TEST(GuestJsonSdk, DecodesEscapedKeys) {
  Parsed p(R"({"k\u00e9y": 1, "a\"b": 2})");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_NE(kw_json_get(p.root(), "k\xC3\xA9y"), nullptr);
  EXPECT_NE(kw_json_get(p.root(), "a\"b"), nullptr);
}

TEST(GuestJsonSdk, AcceptsRawUtf8) {
  Parsed p("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(Str(p.root()), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(GuestJsonSdk, RejectsBadEscapes) {
  for (const char* bad :
       {R"("\x")", R"("\u12")", R"("\u12G4")", R"("\uZZZZ")", R"("\ud800")", R"("\ud800\u0041")",
        R"("\ud800x")", R"("\udc00")", R"("\U0041")", R"("\'")"}) {
    EXPECT_EQ(ParseErr(bad), KW_JSON_ERR_BAD_ESCAPE) << bad;
  }
}

TEST(GuestJsonSdk, RejectsBadStringBytes) {
  EXPECT_EQ(ParseErr("\"a\nb\""), KW_JSON_ERR_BAD_STRING);
  EXPECT_EQ(ParseErr(std::string("\"a\0b\"", 5)), KW_JSON_ERR_BAD_STRING);
  for (const char* bad : {"\"\xFF\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xE2\x82\"",
                          "\"\xF5\x80\x80\x80\"", "\"\x80\"", "\"\xF0\x8F\xBF\xBF\""}) {
    EXPECT_EQ(ParseErr(bad), KW_JSON_ERR_BAD_UTF8) << bad;
  }
}

TEST(GuestJsonSdk, ParsesNumbers) {
  Parsed p("[0, -0, 1, -1, 12.5, 1e3, 1E-3, -0.5e+2, 9223372036854775807, -9223372036854775808]");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  const double expected[] = {
      0, -0.0, 1, -1, 12.5, 1000, 0.001, -50, 9.223372036854775807e18, -9.223372036854775808e18};
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
    double d = 1234;
    ASSERT_TRUE(kw_json_number(kw_json_index(p.root(), i), &d)) << i;
    EXPECT_DOUBLE_EQ(d, expected[i]) << i;
  }
  int64_t v = 0;
  EXPECT_TRUE(kw_json_int64(kw_json_index(p.root(), 8), &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(kw_json_int64(kw_json_index(p.root(), 9), &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(kw_json_int64(kw_json_index(p.root(), 4), &v));  // Fraction.
  EXPECT_FALSE(kw_json_int64(kw_json_index(p.root(), 5), &v));  // Exponent.
}

TEST(GuestJsonSdk, Int64Overflow) {
  Parsed p("[9223372036854775808, -9223372036854775809, 100000000000000000000]");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  int64_t v = 0;
  for (size_t i = 0; i < 3; i++) EXPECT_FALSE(kw_json_int64(kw_json_index(p.root(), i), &v));
}

TEST(GuestJsonSdk, LongNumberTextConvertsToDouble) {
  std::string digits = "1" + std::string(200, '0');
  Parsed p(digits);
  ASSERT_EQ(p.err(), KW_JSON_OK);
  double d = 0;
  EXPECT_TRUE(kw_json_number(p.root(), &d));
  EXPECT_DOUBLE_EQ(d, 1e200);
}

TEST(GuestJsonSdk, RejectsBadNumbers) {
  for (const char* bad : {"01", "-01", "-a", "1.x", ".5", "1.e3", "1ex", "+1"}) {
    kw_json_error err = ParseErr(bad);
    EXPECT_TRUE(err == KW_JSON_ERR_BAD_NUMBER || err == KW_JSON_ERR_SYNTAX) << bad << " " << err;
  }
  for (const char* bad : {"NaN", "Infinity", "-Infinity", "0x10", "1_000"}) {
    EXPECT_NE(ParseErr(bad), KW_JSON_OK) << bad;
  }
  for (const char* cut : {"-", "1.", "1e", "1e+", "[1.", "[-"}) {
    EXPECT_EQ(ParseErr(cut), KW_JSON_ERR_TRUNCATED) << cut;
  }
}

TEST(GuestJsonSdk, RejectsSyntaxErrors) {
  for (const char* bad :
       {"[1,]", "{\"a\":1,}", "{a:1}", "[1 2]", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[,1]", "{,}",
        "tru ", "nulx", "falsy", "}", "]", ":", "{\"a\":}", "[1}", "{\"a\":1]", "'a'"}) {
    kw_json_error err = ParseErr(bad);
    EXPECT_TRUE(err == KW_JSON_ERR_SYNTAX) << bad << " -> " << kw_json_strerror(err);
  }
  EXPECT_EQ(ParseErr("[1]]"), KW_JSON_ERR_TRAILING);
  EXPECT_EQ(ParseErr("true false"), KW_JSON_ERR_TRAILING);
  EXPECT_EQ(ParseErr("{} x"), KW_JSON_ERR_TRAILING);
  EXPECT_EQ(ParseErr(""), KW_JSON_ERR_EMPTY);
  EXPECT_EQ(ParseErr(" \n\t\r "), KW_JSON_ERR_EMPTY);
}

TEST(GuestJsonSdk, ReportsErrorOffset) {
  Parsed p("{\"a\": [1, 2,, 3]}");
  EXPECT_EQ(p.err(), KW_JSON_ERR_SYNTAX);
  EXPECT_EQ(p.offset(), 12u);
  EXPECT_EQ(p.root(), nullptr);
}

TEST(GuestJsonSdk, EveryTruncationFails) {
  const std::string full = kPod;
  ASSERT_EQ(ParseErr(full), KW_JSON_OK);
  for (size_t n = 0; n < full.size(); n++) {
    // Every proper prefix is an unclosed document: truncated, never accepted, never OOB.
    kw_json_error err = ParseErr(full.substr(0, n));
    EXPECT_EQ(err, n == 0 ? KW_JSON_ERR_EMPTY : KW_JSON_ERR_TRUNCATED)
        << n << ": " << kw_json_strerror(err);
  }
  for (const char* cut : {"\"abc", "\"abc\\", "\"\\u12", "\"\\ud83d\\ude0", "[", "{", "{\"a\"",
                          "{\"a\":", "[true", "t", "fals", "n"}) {
    EXPECT_EQ(ParseErr(cut), KW_JSON_ERR_TRUNCATED) << cut;
  }
}

std::string Nested(size_t depth, char open, const std::string& leaf, char close) {
  std::string s;
  for (size_t i = 0; i < depth; i++) {
    s += open;
    if (open == '{') s += "\"k\":";
  }
  s += leaf;
  s.append(depth, close);
  return s;
}

TEST(GuestJsonSdk, EnforcesDepthLimit) {
  EXPECT_EQ(ParseErr(Nested(KW_JSON_DEFAULT_MAX_DEPTH, '[', "1", ']')), KW_JSON_OK);
  EXPECT_EQ(ParseErr(Nested(KW_JSON_DEFAULT_MAX_DEPTH + 1, '[', "1", ']')), KW_JSON_ERR_TOO_DEEP);
  EXPECT_EQ(ParseErr(Nested(KW_JSON_DEFAULT_MAX_DEPTH, '{', "1", '}')), KW_JSON_OK);
  EXPECT_EQ(ParseErr(Nested(KW_JSON_DEFAULT_MAX_DEPTH + 1, '{', "1", '}')), KW_JSON_ERR_TOO_DEEP);
  EXPECT_EQ(Parsed("[[[[]]]]", 4).err(), KW_JSON_OK);
  EXPECT_EQ(Parsed("[[[[[]]]]]", 4).err(), KW_JSON_ERR_TOO_DEEP);
  EXPECT_EQ(Parsed("1", 0).err(), KW_JSON_OK);
  EXPECT_EQ(Parsed("[]", 0).err(), KW_JSON_ERR_TOO_DEEP);
}

TEST(GuestJsonSdk, HugeNestingFailsCleanly) {
  // Far beyond any stack the recursion-free parser could have: must neither crash nor pass.
  std::string deep(1000000, '[');
  EXPECT_EQ(ParseErr(deep), KW_JSON_ERR_TOO_DEEP);
  Parsed unclosed(deep, KW_JSON_MAX_DEPTH_LIMIT + 10);  // Clamped to the hard limit.
  EXPECT_EQ(unclosed.err(), KW_JSON_ERR_TOO_DEEP);
}

TEST(GuestJsonSdk, DeepDocumentsSerialize) {
  const size_t depth = 5000;
  std::string text = Nested(depth, '[', "null", ']');
  Parsed p(text, depth);
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(Write(p.root()), text);
}

TEST(GuestJsonSdk, LargeArraysGrowTheArena) {
  std::string text = "[";
  for (int i = 0; i < 100000; i++) text += (i ? ",\"x" : "\"x") + std::to_string(i) + "\"";
  text += "]";
  Parsed p(text);
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(p.root()->len, 100000u);
  EXPECT_EQ(Str(kw_json_index(p.root(), 99999)), "x99999");
  EXPECT_EQ(Write(p.root()), text);
}

TEST(GuestJsonSdk, DuplicateKeysFirstWins) {
  Parsed p(R"({"a": 1, "a": 2})");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(p.root()->len, 2u);
  int64_t v = 0;
  EXPECT_TRUE(kw_json_int64(kw_json_get(p.root(), "a"), &v));
  EXPECT_EQ(v, 1);
}

TEST(GuestJsonSdk, SerializerRoundTrip) {
  const std::string compact =
      R"({"a":[1,-2.5e-3,true,false,null,{}],"b":{"c":"d","e":[]},"f":"\"\\\n\t\u0001é",)"
      R"("g":12345678901234567890123})";
  Parsed p(compact);
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(Write(p.root()), compact);  // Compact input with canonical escapes is preserved.

  Parsed pod(kPod);
  ASSERT_EQ(pod.err(), KW_JSON_OK);
  std::string once = Write(pod.root());
  Parsed again(once);
  ASSERT_EQ(again.err(), KW_JSON_OK);
  EXPECT_EQ(Write(again.root()), once);
  EXPECT_EQ(once.find(' '), std::string::npos);
}

TEST(GuestJsonSdk, SerializerNormalizesEscapes) {
  Parsed p(R"(["\/\u00e9\u001f\b\f\r", "\ud83d\ude00"])");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  EXPECT_EQ(Write(p.root()), "[\"/\xC3\xA9\\u001f\\b\\f\\r\",\"\xF0\x9F\x98\x80\"]");
}

TEST(GuestJsonSdk, MutationKeepsOrderAndReplaces) {
  Parsed p(R"({"metadata":{"name":"x","labels":{"a":"1"}},"spec":{}})");
  ASSERT_EQ(p.err(), KW_JSON_OK);
  kw_json_doc* doc = p.doc();
  kw_json* labels = kw_json_path(p.root(), "metadata.labels");
  ASSERT_TRUE(kw_json_object_set(doc, labels, "kubewarden.io/mutated", 21,
                                 kw_json_new_string(doc, "true", 4)));
  ASSERT_TRUE(kw_json_object_set(doc, labels, "a", 1, kw_json_new_int(doc, INT64_MIN)));
  kw_json* meta = kw_json_get(p.root(), "metadata");
  ASSERT_TRUE(kw_json_object_set(doc, meta, "name", 4, kw_json_new_null(doc)));
  EXPECT_EQ(Write(p.root()), R"({"metadata":{"name":null,"labels":{"a":-9223372036854775808,)"
                             R"("kubewarden.io/mutated":"true"}},"spec":{}})");
  EXPECT_EQ(labels->len, 2u);

  EXPECT_TRUE(kw_json_object_remove(meta, "name", 4));
  EXPECT_FALSE(kw_json_object_remove(meta, "name", 4));
  EXPECT_TRUE(kw_json_object_remove(meta, "labels", 6));
  EXPECT_EQ(meta->len, 0u);
  ASSERT_TRUE(kw_json_object_set(doc, meta, "z", 1, kw_json_new_bool(doc, true)));
  EXPECT_EQ(Write(p.root()), R"({"metadata":{"z":true},"spec":{}})");
  EXPECT_FALSE(kw_json_object_set(doc, kw_json_get(meta, "z"), "x", 1, kw_json_new_null(doc)));
}

TEST(GuestJsonSdk, BuildsDocumentsFromScratch) {
  kw_json_doc doc;
  kw_json_doc_init(&doc);
  kw_json* root = kw_json_new_object(&doc);
  kw_json* arr = kw_json_new_array(&doc);
  ASSERT_TRUE(kw_json_array_append(arr, kw_json_new_int(&doc, 0)));
  ASSERT_TRUE(kw_json_array_append(arr, kw_json_new_int(&doc, -42)));
  ASSERT_TRUE(kw_json_array_append(arr, kw_json_new_string(&doc, "q\"uote", 6)));
  ASSERT_TRUE(kw_json_object_set(&doc, root, "list", 4, arr));
  ASSERT_TRUE(kw_json_object_set(&doc, root, "k\ney", 4, kw_json_new_bool(&doc, false)));
  EXPECT_FALSE(kw_json_array_append(root, kw_json_new_null(&doc)));
  EXPECT_EQ(Write(root), R"({"list":[0,-42,"q\"uote"],"k\ney":false})");
  kw_json_doc_free(&doc);
}

TEST(GuestJsonSdk, StringBuilder) {
  kw_sb sb;
  kw_sb_init(&sb);
  EXPECT_STREQ(kw_sb_cstr(&sb), "");
  kw_sb_append_i64(&sb, INT64_MIN);
  kw_sb_append_char(&sb, ' ');
  kw_sb_append_u64(&sb, UINT64_MAX);
  kw_sb_append_char(&sb, ' ');
  kw_sb_append_i64(&sb, 0);
  kw_sb_append_char(&sb, ' ');
  kw_sb_append_json_string(&sb, "a\x01\x7f", 3);
  EXPECT_STREQ(kw_sb_cstr(&sb), "-9223372036854775808 18446744073709551615 0 \"a\\u0001\x7f\"");
  kw_sb_reset(&sb);
  EXPECT_STREQ(kw_sb_cstr(&sb), "");
  std::string big(100000, 'z');
  kw_sb_append(&sb, big.data(), big.size());
  EXPECT_EQ(sb.len, big.size());
  EXPECT_EQ(std::string(kw_sb_cstr(&sb)), big);
  kw_sb_free(&sb);
}

TEST(GuestJsonSdk, RandomCorruptionNeverCrashes) {
  const std::string base = kPod;
  std::mt19937 rng(12345);
  const char alphabet[] = "{}[]\":,\\u0123456789eE+-.tfnlrsa \n\x80\xC3\xFF";
  for (int iter = 0; iter < 3000; iter++) {
    std::string s = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; e++) {
      size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = alphabet[rng() % (sizeof(alphabet) - 1)];
          break;
        case 1:
          s.erase(pos, 1 + rng() % 8);
          break;
        default:
          s.insert(pos, 1, alphabet[rng() % (sizeof(alphabet) - 1)]);
          break;
      }
      if (s.empty()) s = "x";
    }
    Parsed p(s);
    if (p.err() == KW_JSON_OK) {
      // Whatever parsed must serialize to something that parses to the same serialization.
      std::string out = Write(p.root());
      Parsed again(out);
      ASSERT_EQ(again.err(), KW_JSON_OK) << out;
      EXPECT_EQ(Write(again.root()), out);
    } else {
      EXPECT_EQ(p.root(), nullptr);
      EXPECT_LE(p.offset(), s.size());
    }
  }
}

}  // namespace
