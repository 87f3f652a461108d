// The validation rules of our CRDs with upstream's texts (kubewarden-controller v1.10 policy
// webhooks; v1.12 PolicyServer checks, which carry the PDB rule) and the message format of
// Kubernetes' field errors.
#include "controller/crd_validation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kw::controller {
namespace {

using nlohmann::json;

json policy(json spec_overrides = json::object()) {
  json spec = {{"policyServer", "default"},
               {"module", "registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.5"},
               {"mode", "protect"},
               {"mutating", false},
               {"timeoutSeconds", 10},
               {"rules",
                {{{"apiGroups", {""}},
                  {"apiVersions", {"v1"}},
                  {"resources", {"pods"}},
                  {"operations", {"CREATE", "UPDATE"}}}}}};
  spec.update(spec_overrides);
  return {{"apiVersion", "policies.kubewarden.io/v1"},
          {"kind", "ClusterAdmissionPolicy"},
          {"metadata", {{"name", "privileged-pods"}}},
          {"spec", spec}};
}

json rule(json operations, json api_versions, json resources) {
  return {{"apiGroups", {""}},
          {"apiVersions", std::move(api_versions)},
          {"resources", std::move(resources)},
          {"operations", std::move(operations)}};
}

std::vector<std::string> texts(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const FieldError& e : errors) out.push_back(errorText(e));
  return out;
}

using Texts = std::vector<std::string>;

TEST(CrdValidation, AValidPolicyPasses) {
  EXPECT_TRUE(validatePolicyCreate(policy()).empty());
  EXPECT_TRUE(validatePolicyUpdate(policy(), policy()).empty());
}

TEST(CrdValidation, RulesMustNotBeEmptyOrMissing) {
  const Texts expected{"spec.rules: Required value: a value must be specified"};
  EXPECT_EQ(texts(validatePolicyCreate(policy({{"rules", json::array()}}))), expected);
  json no_rules = policy();
  no_rules["spec"].erase("rules");
  EXPECT_EQ(texts(validatePolicyCreate(no_rules)), expected);
}

TEST(CrdValidation, EachRuleNeedsOperationsApiVersionsAndResources) {
  json rules = {rule(json::array(), {"v1"}, {"pods"}), rule({"CREATE"}, json::array(), {"pods"}),
                rule({"CREATE"}, {"v1"}, json::array())};
  EXPECT_EQ(texts(validatePolicyCreate(policy({{"rules", rules}}))),
            (Texts{"spec.rules.operations: Required value: a value must be specified",
                   "spec.rules: Required value: apiVersions and resources must have specified "
                   "values",
                   "spec.rules: Required value: apiVersions and resources must have specified "
                   "values"}));
}

TEST(CrdValidation, RuleListsMustNotHoldTheEmptyString) {
  json rules = {rule({"CREATE", ""}, {""}, {"pods", ""})};
  EXPECT_EQ(texts(validatePolicyCreate(policy({{"rules", rules}}))),
            (Texts{"spec.rules.operations: Invalid value: \"\": field value cannot contain the "
                   "empty string",
                   "spec.rules.rule.apiVersions: Invalid value: \"\": rule.apiVersions value "
                   "cannot contain the empty string",
                   "spec.rules.rule.resources: Invalid value: \"\": rule.resources value cannot "
                   "contain the empty string"}));
}

TEST(CrdValidation, TimeoutSecondsMustBeBetweenOneAndThirty) {
  for (int ok : {1, 10, 30})
    EXPECT_TRUE(validatePolicyCreate(policy({{"timeoutSeconds", ok}})).empty());
  EXPECT_EQ(texts(validatePolicyCreate(policy({{"timeoutSeconds", 31}}))),
            Texts{"spec.timeoutSeconds: Invalid value: 31: the timeout value must be between 1 "
                  "and 30 seconds"});
  EXPECT_EQ(texts(validatePolicyCreate(policy({{"timeoutSeconds", 0}}))),
            Texts{"spec.timeoutSeconds: Invalid value: 0: the timeout value must be between 1 "
                  "and 30 seconds"});
  // Also on updates.
  EXPECT_EQ(validatePolicyUpdate(policy(), policy({{"timeoutSeconds", -1}})).size(), 1u);
}

TEST(CrdValidation, PolicyServerIsImmutable) {
  EXPECT_EQ(texts(validatePolicyUpdate(policy(), policy({{"policyServer", "other"}}))),
            Texts{"spec.policyServer: Forbidden: the field is immutable"});
}

TEST(CrdValidation, ProtectCannotGoBackToMonitor) {
  EXPECT_EQ(texts(validatePolicyUpdate(policy(), policy({{"mode", "monitor"}}))),
            Texts{"spec.mode: Forbidden: field cannot transition from protect to monitor. "
                  "Recreate instead."});
  EXPECT_TRUE(validatePolicyUpdate(policy({{"mode", "monitor"}}), policy()).empty());
  EXPECT_TRUE(
      validatePolicyUpdate(policy({{"mode", "monitor"}}), policy({{"mode", "monitor"}})).empty());
}

TEST(CrdValidation, UpdatesReportRuleErrorsBeforeImmutability) {
  // Upstream checks the rules first and stops there.
  EXPECT_EQ(texts(validatePolicyUpdate(
                policy(), policy({{"rules", json::array()}, {"policyServer", "other"}}))),
            Texts{"spec.rules: Required value: a value must be specified"});
}

json policyServer(json spec_overrides = json::object(), std::string name = "default") {
  json spec = {{"image", "ghcr.io/kubewarden/policy-server:v1.10.0"}, {"replicas", 1}};
  spec.update(spec_overrides);
  return {{"apiVersion", "policies.kubewarden.io/v1"},
          {"kind", "PolicyServer"},
          {"metadata", {{"name", name}}},
          {"spec", spec}};
}

// Secrets of the "kubewarden" namespace: pull (dockerconfigjson) and plain (Opaque).
Result<std::optional<std::string>> fakeSecrets(const std::string& ns, const std::string& name) {
  if (name == "broken") return makeError("connection refused");
  if (ns != "kubewarden") return std::optional<std::string>();
  if (name == "pull") return std::optional<std::string>("kubernetes.io/dockerconfigjson");
  if (name == "plain") return std::optional<std::string>("Opaque");
  return std::optional<std::string>();
}

TEST(CrdValidation, PolicyServerImagePullSecretMustBeADockerConfigInTheDeploymentsNamespace) {
  ControllerOptions options;  // deployments namespace "kubewarden"
  EXPECT_TRUE(validatePolicyServer(policyServer(), options, fakeSecrets).empty());
  EXPECT_TRUE(
      validatePolicyServer(policyServer({{"imagePullSecret", "pull"}}), options, fakeSecrets)
          .empty());
  EXPECT_EQ(texts(validatePolicyServer(policyServer({{"imagePullSecret", "missing"}}), options,
                                       fakeSecrets)),
            Texts{"spec.imagePullSecret: Invalid value: \"missing\": cannot get "
                  "spec.ImagePullSecret: secrets \"missing\" not found"});
  EXPECT_EQ(texts(validatePolicyServer(policyServer({{"imagePullSecret", "plain"}}), options,
                                       fakeSecrets)),
            Texts{"spec.imagePullSecret: Invalid value: \"plain\": spec.ImagePullSecret secret "
                  "\"plain\" is not of type kubernetes.io/dockerconfigjson"});
  EXPECT_EQ(texts(validatePolicyServer(policyServer({{"imagePullSecret", "broken"}}), options,
                                       fakeSecrets)),
            Texts{"spec.imagePullSecret: Invalid value: \"broken\": cannot get "
                  "spec.ImagePullSecret: connection refused"});
  // Looked up in the deployments namespace, nowhere else.
  options.deployments_namespace = "elsewhere";
  EXPECT_EQ(validatePolicyServer(policyServer({{"imagePullSecret", "pull"}}), options, fakeSecrets)
                .size(),
            1u);
}

TEST(CrdValidation, PolicyServerPdbFieldsAreExclusive) {
  ControllerOptions options;
  EXPECT_TRUE(
      validatePolicyServer(policyServer({{"minAvailable", 1}}), options, fakeSecrets).empty());
  EXPECT_TRUE(validatePolicyServer(policyServer({{"maxUnavailable", "50%"}}), options, fakeSecrets)
                  .empty());
  EXPECT_EQ(
      texts(validatePolicyServer(policyServer({{"minAvailable", 1}, {"maxUnavailable", "50%"}}),
                                 options, fakeSecrets)),
      Texts{"spec: Invalid value: \"minAvailable: 1, maxUnavailable: 50%\": minAvailable "
            "and maxUnavailable cannot be both set"});
}

TEST(CrdValidation, PolicyServerNameIsAtMost63Characters) {
  ControllerOptions options;
  EXPECT_TRUE(
      validatePolicyServer(policyServer(json::object(), std::string(63, 'a')), options, fakeSecrets)
          .empty());
  const std::string long_name(64, 'a');
  EXPECT_EQ(
      texts(validatePolicyServer(policyServer(json::object(), long_name), options, fakeSecrets)),
      Texts{"metadata.name: Invalid value: \"" + long_name +
            "\": the PolicyServer name cannot be longer than 63 characters"});
}

TEST(CrdValidation, PolicyServerReportsEveryProblemAtOnce) {
  ControllerOptions options;
  auto errors = validatePolicyServer(
      policyServer({{"imagePullSecret", "missing"}, {"minAvailable", "1"}, {"maxUnavailable", 0}},
                   std::string(64, 'b')),
      options, fakeSecrets);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].field, "metadata.name");
  EXPECT_EQ(errors[1].field, "spec.imagePullSecret");
  EXPECT_EQ(errors[2].field, "spec");
}

TEST(FieldErrors, InvalidStatusReadsLikeTheApiServers) {
  FieldErrors errors = {FieldError::forbidden("spec.mode", "no"),
                        FieldError::required("spec.rules", "need"),
                        FieldError::forbidden("spec.mode", "no")};
  json status = invalidStatus("policies.kubewarden.io", "AdmissionPolicy", "p", errors);
  EXPECT_EQ(status["code"], 422);
  EXPECT_EQ(status["reason"], "Invalid");
  EXPECT_EQ(status["status"], "Failure");
  // Duplicates are dropped from the message, as apimachinery's aggregate does.
  EXPECT_EQ(status["message"],
            "AdmissionPolicy.policies.kubewarden.io \"p\" is invalid: [spec.mode: Forbidden: no, "
            "spec.rules: Required value: need]");
  EXPECT_EQ(status["details"]["kind"], "AdmissionPolicy");
  EXPECT_EQ(status["details"]["group"], "policies.kubewarden.io");
  EXPECT_EQ(status["details"]["name"], "p");
  ASSERT_EQ(status["details"]["causes"].size(), 3u);
  EXPECT_EQ(status["details"]["causes"][1], json({{"reason", "FieldValueRequired"},
                                                  {"message", "Required value: need"},
                                                  {"field", "spec.rules"}}));
  // One error: no brackets.
  EXPECT_EQ(invalidStatus("g", "K", "n", {FieldError::forbidden("a", "b")})["message"],
            "K.g \"n\" is invalid: a: Forbidden: b");
}

}  // namespace
}  // namespace kw::controller
