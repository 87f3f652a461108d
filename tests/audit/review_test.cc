#include "audit/review.h"

#include <gtest/gtest.h>

namespace kw::audit {
namespace {

using json = nlohmann::json;
using reports::Outcome;

json deployment() {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", "web"}, {"namespace", "shop"}, {"uid", "d-uid"}, {"resourceVersion", "7"}}},
          {"spec", {{"replicas", 2}}}};
}

TEST(AuditReview, CreateRequestForTheExistingObject) {
  json review = buildReview(deployment(), {"apps", "v1", "deployments"});
  EXPECT_EQ(review["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(review["kind"], "AdmissionReview");
  const json& r = review["request"];
  EXPECT_EQ(r["uid"], "d-uid");
  EXPECT_EQ(r["operation"], "CREATE");
  EXPECT_EQ(r["name"], "web");
  EXPECT_EQ(r["namespace"], "shop");
  json gvk = {{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}};
  EXPECT_EQ(r["kind"], gvk);
  EXPECT_EQ(r["requestKind"], gvk);
  EXPECT_EQ(r["resource"],
            (json{{"group", "apps"}, {"version", "v1"}, {"resource", "deployments"}}));
  EXPECT_EQ(r["object"], deployment());
  EXPECT_FALSE(r.contains("oldObject"));
}

TEST(AuditReview, CoreGroupAndClusterScopedObject) {
  json ns = {
      {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "a"}, {"uid", "n"}}}};
  json r = buildReview(ns, {"", "v1", "namespaces"})["request"];
  EXPECT_EQ(r["kind"], (json{{"group", ""}, {"version", "v1"}, {"kind", "Namespace"}}));
  EXPECT_FALSE(r.contains("namespace"));
}

TEST(AuditReview, SubjectReference) {
  reports::ObjectRef s = subjectOf(deployment());
  EXPECT_EQ(s, (reports::ObjectRef{"apps/v1", "Deployment", "shop", "web", "d-uid", "7"}));
}

TEST(AuditReview, VerdictFromTheAnswer) {
  Verdict pass = verdictOf(200, R"({"response":{"uid":"x","allowed":true}})");
  EXPECT_EQ(pass.outcome, Outcome::kPass);
  Verdict fail = verdictOf(
      200,
      R"({"response":{"allowed":false,"status":{"message":"Privileged container is not allowed"}}})");
  EXPECT_EQ(fail.outcome, Outcome::kFail);
  EXPECT_EQ(fail.message, "Privileged container is not allowed");
  Verdict down = verdictOf(500, "boom");
  EXPECT_EQ(down.outcome, Outcome::kError);
  EXPECT_EQ(down.message, "policy-server answered HTTP 500: boom");
  EXPECT_EQ(verdictOf(200, "not json").outcome, Outcome::kError);
  Verdict no_allowed = verdictOf(200, R"({"response":{"uid":"x"}})");
  EXPECT_EQ(no_allowed.outcome, Outcome::kError);
  EXPECT_EQ(no_allowed.message, "policy-server answer has no boolean response.allowed");
}

}  // namespace
}  // namespace kw::audit
