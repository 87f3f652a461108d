// ValidationResponse parsing and the AdmissionResponse conversion (spec §1.7, §2.3): the shape
// Kubernetes receives must match upstream's serde output key for key, and a mutation must be a
// base64 RFC 6902 patch that really turns the request's object into the mutated object.
#include "admission/admission_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_env.h"

namespace kw::admission {
namespace {

constexpr char kNullObjectMutation[] =
    "Incoming object is null, which happens only with DELETE operations, but the policy is "
    "attempting a mutation. This is not allowed";

using kw::test::base64Decode;

ValidationResponse parseOk(const std::string& text) {
  auto r = parseValidationResponse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ValidationResponse{};
}

// Decodes the response's patch and applies it to `base`, as the API server would.
Json applyPatch(const OrderedJson& response, const Json& base) {
  EXPECT_EQ(response.value("patchType", ""), "JSONPatch");
  Json patch = Json::parse(base64Decode(response.value("patch", "")), nullptr, false);
  EXPECT_TRUE(patch.is_array()) << "patch is not an RFC 6902 array: " << patch.dump();
  if (!patch.is_array()) return nullptr;
  return base.patch(patch);
}

Json podObject() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "nginx", "labels": {"env": "test"}},
    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}})");
}

// --- parseValidationResponse ---------------------------------------------------------------

TEST(AdmissionResponseParse, AcceptedTrueWithoutOptionalFields) {
  auto v = parseOk(R"({"accepted": true})");
  EXPECT_TRUE(v.accepted);
  EXPECT_FALSE(v.message.has_value());
  EXPECT_FALSE(v.code.has_value());
  EXPECT_FALSE(v.mutated_object.has_value());
  EXPECT_FALSE(v.audit_annotations.has_value());
  EXPECT_FALSE(v.warnings.has_value());
}

TEST(AdmissionResponseParse, RejectionWithEveryField) {
  auto v = parseOk(R"({"accepted": false, "message": "no way", "code": 403,
                       "mutated_object": {"a": 1},
                       "audit_annotations": {"k": "v"}, "warnings": ["w1", "w2"]})");
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.message, "no way");
  EXPECT_EQ(v.code, 403);
  ASSERT_TRUE(v.mutated_object.has_value());
  EXPECT_EQ(*v.mutated_object, Json::parse(R"({"a": 1})"));
  ASSERT_TRUE(v.audit_annotations.has_value());
  EXPECT_EQ(*v.audit_annotations, Json::parse(R"({"k": "v"})"));
  ASSERT_TRUE(v.warnings.has_value());
  EXPECT_EQ(*v.warnings, Json::parse(R"(["w1", "w2"])"));
}

TEST(AdmissionResponseParse, ExplicitNullsAreAbsentAndUnknownFieldsIgnored) {
  // serde maps null to None and ignores fields it does not know.
  auto v = parseOk(R"({"accepted": true, "message": null, "code": null,
                       "mutated_object": null, "extra": {"x": 1}})");
  EXPECT_TRUE(v.accepted);
  EXPECT_FALSE(v.message.has_value());
  EXPECT_FALSE(v.code.has_value());
  EXPECT_FALSE(v.mutated_object.has_value());
}

TEST(AdmissionResponseParse, MissingAcceptedIsAnError) {
  EXPECT_FALSE(parseValidationResponse(R"({"message": "hi"})").ok());
}

TEST(AdmissionResponseParse, NonBooleanAcceptedIsAnError) {
  EXPECT_FALSE(parseValidationResponse(R"({"accepted": "true"})").ok());
}

TEST(AdmissionResponseParse, NotAnObjectIsAnError) {
  EXPECT_FALSE(parseValidationResponse(R"([{"accepted": true}])").ok());
  EXPECT_FALSE(parseValidationResponse(R"("accepted")").ok());
  EXPECT_FALSE(parseValidationResponse("{\"accepted\": tru").ok());
  EXPECT_FALSE(parseValidationResponse("").ok());
}

TEST(AdmissionResponseParse, WrongFieldTypeIsAnError) {
  EXPECT_FALSE(parseValidationResponse(R"({"accepted": false, "message": 42})").ok());
  EXPECT_FALSE(parseValidationResponse(R"({"accepted": false, "code": "403"})").ok());
}

TEST(AdmissionResponseParse, CodeMustFitU16) {
  // policy-sdk's ValidationResponse.code is Option<u16>: serde refuses anything else, and the
  // evaluator then answers 500 instead of passing a bogus HTTP code to Kubernetes.
  EXPECT_EQ(parseOk(R"({"accepted": false, "code": 0})").code, 0);
  EXPECT_EQ(parseOk(R"({"accepted": false, "code": 65535})").code, 65535);
  EXPECT_FALSE(parseValidationResponse(R"({"accepted": false, "code": -1})").ok());
  EXPECT_FALSE(parseValidationResponse(R"({"accepted": false, "code": 65536})").ok());
  EXPECT_FALSE(parseValidationResponse(R"({"accepted": false, "code": 403.5})").ok());
}

// --- toAdmissionResponse -------------------------------------------------------------------

TEST(AdmissionResponseConvert, AcceptedHasUidAndAlwaysPresentNulls) {
  auto r = toAdmissionResponse("uid-1", parseOk(R"({"accepted": true})"), nullptr);
  EXPECT_EQ(r["uid"], "uid-1");
  EXPECT_EQ(r["allowed"], true);
  ASSERT_TRUE(r.contains("auditAnnotations"));
  EXPECT_TRUE(r["auditAnnotations"].is_null());
  ASSERT_TRUE(r.contains("warnings"));
  EXPECT_TRUE(r["warnings"].is_null());
  EXPECT_FALSE(r.contains("status"));
  EXPECT_FALSE(r.contains("patch"));
  EXPECT_FALSE(r.contains("patchType"));
}

TEST(AdmissionResponseConvert, SerialisedShapeMatchesUpstream) {
  // Key order matters to byte-for-byte comparisons with upstream output.
  auto r = toAdmissionResponse("u", parseOk(R"({"accepted": false, "message": "m"})"), nullptr);
  EXPECT_EQ(r.dump(), R"({"uid":"u","allowed":false,"status":{"message":"m"},)"
                      R"("auditAnnotations":null,"warnings":null})");
}

TEST(AdmissionResponseConvert, RejectionWithoutMessageOrCodeHasNoStatus) {
  auto r = toAdmissionResponse("u", parseOk(R"({"accepted": false})"), nullptr);
  EXPECT_EQ(r["allowed"], false);
  EXPECT_FALSE(r.contains("status"));
}

TEST(AdmissionResponseConvert, StatusWithOnlyMessageHasNoCode) {
  auto r = toAdmissionResponse("u", parseOk(R"({"accepted": false, "message": "nope"})"), nullptr);
  ASSERT_TRUE(r.contains("status"));
  EXPECT_EQ(r["status"]["message"], "nope");
  EXPECT_FALSE(r["status"].contains("code"));
}

TEST(AdmissionResponseConvert, StatusWithOnlyCodeHasNoMessage) {
  auto r = toAdmissionResponse("u", parseOk(R"({"accepted": false, "code": 418})"), nullptr);
  ASSERT_TRUE(r.contains("status"));
  EXPECT_EQ(r["status"]["code"], 418);
  EXPECT_FALSE(r["status"].contains("message"));
}

TEST(AdmissionResponseConvert, AuditAnnotationsAndWarningsAreCopied) {
  auto r = toAdmissionResponse(
      "u", parseOk(R"({"accepted": true, "audit_annotations": {"a": "b"}, "warnings": ["w"]})"),
      nullptr);
  EXPECT_EQ(r["auditAnnotations"], OrderedJson::parse(R"({"a": "b"})"));
  EXPECT_EQ(r["warnings"], OrderedJson::parse(R"(["w"])"));
}

TEST(AdmissionResponseConvert, MutationBecomesApplicableJsonPatch) {
  Json base = podObject();
  Json mutated = base;
  // A key with '/' and '~' checks RFC 6901 escaping; an array edit checks index paths.
  mutated["metadata"]["labels"]["kubewarden.io/mutated"] = "true";
  mutated["metadata"]["labels"]["odd~key"] = "x";
  mutated["metadata"]["labels"].erase("env");
  mutated["spec"]["containers"][0]["image"] = "nginx:1.25";
  mutated["spec"]["containers"].push_back({{"name", "sidecar"}});

  ValidationResponse v;
  v.accepted = true;
  v.mutated_object = mutated;
  auto r = toAdmissionResponse("u", v, &base);
  EXPECT_EQ(r["allowed"], true);
  EXPECT_EQ(applyPatch(r, base), mutated);
  EXPECT_TRUE(r["auditAnnotations"].is_null());
}

TEST(AdmissionResponseConvert, PatchKeysPrecedeStatus) {
  Json base = podObject();
  Json mutated = base;
  mutated["metadata"]["name"] = "renamed";
  ValidationResponse v;
  v.accepted = true;
  v.message = "mutated";
  v.mutated_object = mutated;
  auto r = toAdmissionResponse("u", v, &base);
  std::vector<std::string> keys;
  for (auto it = r.begin(); it != r.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"uid", "allowed", "patchType", "patch", "status",
                                            "auditAnnotations", "warnings"}));
}

TEST(AdmissionResponseConvert, IdenticalMutatedObjectGivesNoPatch) {
  Json base = podObject();
  ValidationResponse v;
  v.accepted = true;
  v.mutated_object = base;
  auto r = toAdmissionResponse("u", v, &base);
  EXPECT_EQ(r["allowed"], true);
  EXPECT_FALSE(r.contains("patch"));
  EXPECT_FALSE(r.contains("patchType"));
}

TEST(AdmissionResponseConvert, MutationOfNullObjectIsRefused) {
  Json null_base = nullptr;
  ValidationResponse v;
  v.accepted = true;
  v.mutated_object = podObject();
  const std::vector<const Json*> bases = {nullptr, &null_base};
  for (const Json* base : bases) {
    auto r = toAdmissionResponse("del-uid", v, base);
    EXPECT_EQ(r["uid"], "del-uid");
    EXPECT_EQ(r["allowed"], false);
    ASSERT_TRUE(r.contains("status"));
    EXPECT_EQ(r["status"]["message"], kNullObjectMutation);
    EXPECT_FALSE(r["status"].contains("code"));
    EXPECT_FALSE(r.contains("patch"));
    EXPECT_TRUE(r.contains("warnings"));
    EXPECT_TRUE(r.contains("auditAnnotations"));
  }
}

TEST(AdmissionResponseConvert, RejectInternalServerError) {
  auto r = rejectInternalServerError("u-500", "X");
  EXPECT_EQ(r["uid"], "u-500");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(r["status"],
            OrderedJson::parse(R"({"message":"internal server error: X","code":500})"));
  EXPECT_TRUE(r["auditAnnotations"].is_null());
  EXPECT_TRUE(r["warnings"].is_null());
  EXPECT_TRUE(r.contains("warnings"));
}

TEST(AdmissionResponseConvert, RejectWithoutCodeOmitsIt) {
  auto r = reject("u", "plain", std::nullopt);
  EXPECT_EQ(r["status"], OrderedJson::parse(R"({"message":"plain"})"));
  auto coded = reject("u", "coded", 403);
  EXPECT_EQ(coded["status"], OrderedJson::parse(R"({"message":"coded","code":403})"));
}

}  // namespace
}  // namespace kw::admission
