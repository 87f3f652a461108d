// The request-body fast path: it accepts well-formed AdmissionReviews with their fields and the
// `request` bytes exactly as sent, and declines (to the strict path, which words the error)
// everything the strict path would refuse: syntax errors, repeated members at any depth, wrong
// shapes, lone-surrogate escapes, and bodies over its size cap.
#include "server/review_scan.h"

#include <gtest/gtest.h>

#include <string>

namespace kw::server {
namespace {

const std::string kRequest =
    R"({ "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
  "resource": {"group": "", "version": "v1", "resource": "pods"},
  "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
  "name": "web", "namespace": "team-a", "operation": "CREATE", "subResource": null,
  "userInfo": {"username": "alice", "groups": ["system:authenticated"], "extra": null},
  "dryRun": false, "object": {"metadata": {"name": "web", "labels": {"a": "é\n"}}} })";

std::string review(const std::string& request) {
  return R"({"kind": "AdmissionReview", "request": )" + request +
         R"(  , "apiVersion": "admission.k8s.io/v1"})";
}

// kRequest with `from` replaced by `to` (which must occur).
std::string requestWith(const std::string& from, const std::string& to) {
  std::string r = kRequest;
  auto at = r.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) r.replace(at, from.size(), to);
  return r;
}

bool accepts(const std::string& body, bool raw = false) {
  ReviewFields f;
  return scanReview(body, raw, f);
}

TEST(ReviewScanTest, AcceptsAReviewAndHandsOverTheRequestBytesAsSent) {
  ReviewFields f;
  ASSERT_TRUE(scanReview(review(kRequest), false, f));
  EXPECT_EQ(f.request_json, kRequest) << "key order, spacing and escapes untouched";
  EXPECT_EQ(f.uid, "u-1");
  EXPECT_EQ(f.name, "web");
  EXPECT_EQ(f.ns, "team-a");
  EXPECT_TRUE(f.has_namespace);
  EXPECT_EQ(f.operation, "CREATE");
  EXPECT_EQ(f.kind, "Pod");
  EXPECT_EQ(f.kind_version, "v1");
  EXPECT_EQ(f.resource, "pods");
  EXPECT_EQ(f.request_kind, "Pod");
  EXPECT_EQ(f.subresource, "");
}

TEST(ReviewScanTest, RawRequestsMayBeAnyJsonValue) {
  for (const std::string value : {R"("text")", "42", "[1, {\"a\": 2}]", "null", R"({"uid": 7})"}) {
    ReviewFields f;
    ASSERT_TRUE(scanReview(R"({"request": )" + value + " \n}", true, f)) << value;
    EXPECT_EQ(f.request_json, value);
    EXPECT_EQ(f.uid, "");
  }
  ReviewFields f;
  ASSERT_TRUE(scanReview(R"({"request": {"uid": "r-1", "x": [1]}})", true, f));
  EXPECT_EQ(f.uid, "r-1");
  EXPECT_FALSE(accepts(R"({"other": 1})", true)) << "missing request";
}

TEST(ReviewScanTest, DeclinesWhatTheStrictPathRefuses) {
  const std::pair<std::string, std::string> cases[] = {
      {"syntax error", review(kRequest).substr(1)},
      {"trailing garbage", review(kRequest) + "x"},
      {"not an object", "[" + review(kRequest) + "]"},
      {"repeated member at the top", R"({"request": {}, "request": )" + kRequest + "}"},
      {"repeated member deep inside",
       review(requestWith(R"("a": "é\n")", R"("a": "1", "a": "2")"))},
      {"missing uid", review(requestWith(R"("uid": "u-1",)", ""))},
      {"uid of the wrong type", review(requestWith(R"("uid": "u-1")", R"("uid": 5)"))},
      {"null required object",
       review(requestWith(R"("userInfo": {)", R"("userInfo": null, "x": {)"))},
      {"kind without group", review(requestWith(R"("kind": {"group": "", )", R"("kind": {)"))},
      {"non-string group",
       review(requestWith(R"("groups": ["system:authenticated"])", R"("groups": [1])"))},
      {"extra not a map", review(requestWith(R"("extra": null)", R"("extra": [])"))},
      {"dryRun not a boolean", review(requestWith(R"("dryRun": false)", R"("dryRun": "no")"))},
      {"request not an object", review("5")},
      {"kind not a string", R"({"kind": 1, "request": )" + kRequest + "}"},
      {"lone surrogate escape", review(requestWith("é", R"(\ud800)"))},
      {"number out of range",
       review(requestWith(R"("dryRun": false)", R"("dryRun": false, "n": 1e999)"))},
      {"over the size cap", review(requestWith(R"("web", "labels")",
                                               "\"" + std::string(70000, 'w') + "\", \"labels\""))},
  };
  for (const auto& [what, body] : cases) EXPECT_FALSE(accepts(body)) << what;
}

TEST(ReviewScanTest, OptionalFieldsMayBeNullOrAbsent) {
  EXPECT_TRUE(accepts(review(requestWith(R"("namespace": "team-a")", R"("namespace": null)"))));
  ReviewFields f;
  ASSERT_TRUE(scanReview(review(requestWith(R"("namespace": "team-a", )", "")), false, f));
  EXPECT_FALSE(f.has_namespace);
  EXPECT_TRUE(
      accepts(review(requestWith(R"("requestKind": {"group": "", "version": "v1", "kind": "Pod"},)",
                                 R"("requestKind": null,)"))));
  EXPECT_TRUE(accepts(R"({"request": )" + kRequest + "}")) << "apiVersion and kind are optional";
}

}  // namespace
}  // namespace kw::server
