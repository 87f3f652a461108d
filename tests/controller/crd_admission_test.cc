// Defaulting patches and AdmissionReview answers for our CRDs (spec §4.1), and the webhook
// configurations that route them.
#include "controller/crd_admission.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "controller/crd_defaulting.h"
#include "controller/crd_webhooks.h"

namespace kw::controller {
namespace {

using nlohmann::json;

json capObject(json spec, json metadata = {{"name", "privileged-pods"}}) {
  return {{"apiVersion", "policies.kubewarden.io/v1"},
          {"kind", "ClusterAdmissionPolicy"},
          {"metadata", std::move(metadata)},
          {"spec", std::move(spec)}};
}

json minimalSpec() {
  return {{"module", "registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.5"},
          {"mutating", false},
          {"rules",
           {{{"apiGroups", {""}},
             {"apiVersions", {"v1"}},
             {"resources", {"pods"}},
             {"operations", {"CREATE"}}}}}};
}

TEST(CrdDefaulting, PolicyGetsFinalizerServerAndSchemaDefaults) {
  ControllerOptions options;
  json cap = capObject(minimalSpec());
  json defaulted = applyDefaultingPatch(cap, policyDefaultingPatch(cap, options));
  EXPECT_EQ(defaulted["metadata"]["finalizers"], json({"kubewarden"}));
  EXPECT_EQ(defaulted["spec"]["policyServer"], "default");
  EXPECT_EQ(defaulted["spec"]["mode"], "protect");
  EXPECT_EQ(defaulted["spec"]["timeoutSeconds"], 10);
  EXPECT_EQ(defaulted["spec"]["backgroundAudit"], true);
  // Idempotent: a defaulted object needs nothing more.
  EXPECT_TRUE(policyDefaultingPatch(defaulted, options).empty());
}

TEST(CrdDefaulting, EmptyPolicyServerTakesTheFlagsValue) {
  ControllerOptions options;
  options.default_policy_server = "reserved";
  json spec = minimalSpec();
  spec["policyServer"] = "";
  json cap = capObject(spec);
  EXPECT_EQ(applyDefaultingPatch(cap, policyDefaultingPatch(cap, options))["spec"]["policyServer"],
            "reserved");
  // A chosen PolicyServer and mode stay.
  spec["policyServer"] = "mine";
  spec["mode"] = "monitor";
  json kept = capObject(spec);
  json defaulted = applyDefaultingPatch(kept, policyDefaultingPatch(kept, options));
  EXPECT_EQ(defaulted["spec"]["policyServer"], "mine");
  EXPECT_EQ(defaulted["spec"]["mode"], "monitor");
}

TEST(CrdDefaulting, FinalizerIsAppendedOnceAndNotDuringDeletion) {
  ControllerOptions options;
  json other = capObject(minimalSpec(), {{"name", "p"}, {"finalizers", {"example.com/keep"}}});
  EXPECT_EQ(
      applyDefaultingPatch(other, policyDefaultingPatch(other, options))["metadata"]["finalizers"],
      json({"example.com/keep", "kubewarden"}));
  json deleting =
      capObject(minimalSpec(), {{"name", "p"}, {"deletionTimestamp", "2024-01-01T00:00:00Z"}});
  json defaulted = applyDefaultingPatch(deleting, policyDefaultingPatch(deleting, options));
  EXPECT_FALSE(defaulted["metadata"].contains("finalizers"));

  json ps = {
      {"kind", "PolicyServer"}, {"metadata", {{"name", "default"}}}, {"spec", json::object()}};
  EXPECT_EQ(applyDefaultingPatch(ps, policyServerDefaultingPatch(ps))["metadata"]["finalizers"],
            json({"kubewarden"}));
  ps["metadata"]["finalizers"] = {"kubewarden"};
  EXPECT_TRUE(policyServerDefaultingPatch(ps).empty());
}

json review(const std::string& operation, json object, json old_object = nullptr) {
  json request = {{"uid", "3d1f0c6e-1111-2222-3333-444455556666"},
                  {"operation", operation},
                  {"name", object["metadata"].value("name", "")},
                  {"object", std::move(object)}};
  if (!old_object.is_null()) request["oldObject"] = std::move(old_object);
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

CrdWebhook webhookAt(const std::string& path) {
  auto webhook = crdWebhookForPath(path);
  EXPECT_TRUE(webhook.has_value()) << path;
  return webhook.value_or(crdWebhooks().front());
}

TEST(CrdAdmission, ServesUpstreamsSixPathsAndNames) {
  std::vector<std::string> paths, names, resources;
  for (const CrdWebhook& webhook : crdWebhooks()) {
    paths.push_back(webhook.path);
    names.push_back(webhook.name);
    resources.push_back(webhook.resource);
  }
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/mutate-policies-kubewarden-io-v1-policyserver",
                                      "/mutate-policies-kubewarden-io-v1-clusteradmissionpolicy",
                                      "/mutate-policies-kubewarden-io-v1-admissionpolicy",
                                      "/validate-policies-kubewarden-io-v1-policyserver",
                                      "/validate-policies-kubewarden-io-v1-clusteradmissionpolicy",
                                      "/validate-policies-kubewarden-io-v1-admissionpolicy"}));
  EXPECT_EQ(names,
            (std::vector<std::string>{"mpolicyserver.kb.io", "mclusteradmissionpolicy.kb.io",
                                      "madmissionpolicy.kb.io", "vpolicyserver.kb.io",
                                      "vclusteradmissionpolicy.kb.io", "vadmissionpolicy.kb.io"}));
  EXPECT_EQ(resources[1], "clusteradmissionpolicies");
  EXPECT_EQ(resources[2], "admissionpolicies");
  EXPECT_EQ(resources[3], "policyservers");
  EXPECT_FALSE(crdWebhookForPath("/validate/clusterwide-x").has_value());
}

TEST(CrdAdmission, MutateAnswersWithABase64JsonPatch) {
  CrdAdmissionContext context;
  json reply = admitReview(webhookAt("/mutate-policies-kubewarden-io-v1-clusteradmissionpolicy"),
                           review("CREATE", capObject(minimalSpec())), context);
  EXPECT_EQ(reply["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(reply["kind"], "AdmissionReview");
  const json& response = reply["response"];
  EXPECT_EQ(response["uid"], "3d1f0c6e-1111-2222-3333-444455556666");
  EXPECT_EQ(response["allowed"], true);
  EXPECT_EQ(response["patchType"], "JSONPatch");
  auto patch = base64Decode(response["patch"].get<std::string>());
  ASSERT_TRUE(patch.ok());
  json ops = json::parse(*patch);
  EXPECT_TRUE(ops.is_array());
  EXPECT_EQ(applyDefaultingPatch(capObject(minimalSpec()), ops)["metadata"]["finalizers"],
            json({"kubewarden"}));
}

TEST(CrdAdmission, NothingToDefaultMeansNoPatch) {
  CrdAdmissionContext context;
  json ps = {{"apiVersion", "policies.kubewarden.io/v1"},
             {"kind", "PolicyServer"},
             {"metadata", {{"name", "default"}, {"finalizers", {"kubewarden"}}}},
             {"spec", {{"image", "x"}, {"replicas", 1}}}};
  json response = admitReview(webhookAt("/mutate-policies-kubewarden-io-v1-policyserver"),
                              review("UPDATE", ps, ps), context)["response"];
  EXPECT_EQ(response["allowed"], true);
  EXPECT_FALSE(response.contains("patch"));
}

TEST(CrdAdmission, ValidateDeniesWithUpstreamsInvalidStatus) {
  CrdAdmissionContext context;
  json old_cap = capObject(minimalSpec());
  old_cap["spec"]["mode"] = "protect";
  json new_cap = old_cap;
  new_cap["spec"]["mode"] = "monitor";
  json response =
      admitReview(webhookAt("/validate-policies-kubewarden-io-v1-clusteradmissionpolicy"),
                  review("UPDATE", new_cap, old_cap), context)["response"];
  EXPECT_EQ(response["allowed"], false);
  EXPECT_EQ(response["status"]["code"], 422);
  EXPECT_EQ(response["status"]["reason"], "Invalid");
  EXPECT_EQ(response["status"]["message"],
            "ClusterAdmissionPolicy.policies.kubewarden.io \"privileged-pods\" is invalid: "
            "spec.mode: Forbidden: field cannot transition from protect to monitor. Recreate "
            "instead.");
  // Creating it in monitor mode is fine.
  EXPECT_EQ(admitReview(webhookAt("/validate-policies-kubewarden-io-v1-clusteradmissionpolicy"),
                        review("CREATE", new_cap), context)["response"]["allowed"],
            true);
}

TEST(CrdAdmission, AdmissionPolicyErrorsNameTheirOwnKind) {
  CrdAdmissionContext context;
  json ap = capObject(minimalSpec(), {{"name", "p"}, {"namespace", "team"}});
  ap["kind"] = "AdmissionPolicy";
  ap["spec"]["rules"] = json::array();
  json response = admitReview(webhookAt("/validate-policies-kubewarden-io-v1-admissionpolicy"),
                              review("CREATE", ap), context)["response"];
  EXPECT_EQ(response["status"]["message"],
            "AdmissionPolicy.policies.kubewarden.io \"p\" is invalid: spec.rules: Required "
            "value: a value must be specified");
}

TEST(CrdAdmission, PolicyServerValidationUsesTheSecretLookup) {
  CrdAdmissionContext context;
  context.options.deployments_namespace = "kw";
  std::vector<std::string> asked;
  context.secret_type = [&](const std::string& ns,
                            const std::string& name) -> Result<std::optional<std::string>> {
    asked.push_back(ns + "/" + name);
    return std::optional<std::string>();
  };
  json ps = {{"apiVersion", "policies.kubewarden.io/v1"},
             {"kind", "PolicyServer"},
             {"metadata", {{"name", "default"}}},
             {"spec", {{"image", "x"}, {"replicas", 1}, {"imagePullSecret", "regcred"}}}};
  json response = admitReview(webhookAt("/validate-policies-kubewarden-io-v1-policyserver"),
                              review("CREATE", ps), context)["response"];
  EXPECT_EQ(asked, std::vector<std::string>{"kw/regcred"});
  EXPECT_EQ(response["allowed"], false);
  EXPECT_EQ(response["status"]["message"],
            "PolicyServer.policies.kubewarden.io \"default\" is invalid: spec.imagePullSecret: "
            "Invalid value: \"regcred\": cannot get spec.ImagePullSecret: secrets \"regcred\" not "
            "found");
}

TEST(CrdAdmission, MalformedReviewsGetAnErrorNotAnException) {
  CrdAdmissionContext context;
  const CrdWebhook webhook =
      webhookAt("/validate-policies-kubewarden-io-v1-clusteradmissionpolicy");
  json no_request = admitReview(webhook, json{{"apiVersion", "admission.k8s.io/v1"}}, context);
  EXPECT_EQ(no_request["response"]["allowed"], false);
  EXPECT_EQ(no_request["response"]["status"]["code"], 400);
  json bad_types = review("CREATE", capObject(minimalSpec()));
  bad_types["request"]["object"]["spec"]["rules"] = "everything";
  EXPECT_EQ(admitReview(webhook, bad_types, context)["response"]["allowed"], false);
  json no_object = review("CREATE", capObject(minimalSpec()));
  no_object["request"].erase("object");
  EXPECT_EQ(admitReview(webhook, no_object, context)["response"]["status"]["code"], 400);
  // DELETE is not ours to judge.
  EXPECT_EQ(admitReview(webhook, review("DELETE", capObject(json::object())),
                        context)["response"]["allowed"],
            true);
}

TEST(CrdWebhookConfigurations, RouteEachKindToItsPath) {
  CrdWebhookTarget target;
  target.url_base = "https://127.0.0.1:9443";
  target.ca_pem = "-----BEGIN CERTIFICATE-----\n";
  CrdWebhookOptions options;
  options.object_selector = {{"matchLabels", {{"test", "x"}}}};
  json mutating = crdMutatingWebhookConfiguration(target, options);
  EXPECT_EQ(mutating["kind"], "MutatingWebhookConfiguration");
  EXPECT_EQ(mutating["metadata"]["name"], "kubewarden-controller-mutating-webhook-configuration");
  ASSERT_EQ(mutating["webhooks"].size(), 3u);
  const json& first = mutating["webhooks"][0];
  EXPECT_EQ(first["name"], "mpolicyserver.kb.io");
  EXPECT_EQ(first["clientConfig"]["url"],
            "https://127.0.0.1:9443/mutate-policies-kubewarden-io-v1-policyserver");
  EXPECT_EQ(first["clientConfig"]["caBundle"], base64Encode(target.ca_pem));
  EXPECT_EQ(first["rules"][0]["resources"], json({"policyservers"}));
  EXPECT_EQ(first["rules"][0]["operations"], json({"CREATE", "UPDATE"}));
  EXPECT_EQ(first["sideEffects"], "None");
  EXPECT_EQ(first["failurePolicy"], "Fail");
  EXPECT_EQ(first["objectSelector"], options.object_selector);
  EXPECT_FALSE(first.contains("namespaceSelector"));

  CrdWebhookTarget service;
  service.service_namespace = "kubewarden";
  service.service_name = "kubewarden-controller-webhook-service";
  json validating = crdValidatingWebhookConfiguration(service);
  EXPECT_EQ(validating["webhooks"][2]["name"], "vadmissionpolicy.kb.io");
  EXPECT_EQ(validating["webhooks"][2]["clientConfig"]["service"],
            json({{"namespace", "kubewarden"},
                  {"name", "kubewarden-controller-webhook-service"},
                  {"path", "/validate-policies-kubewarden-io-v1-admissionpolicy"},
                  {"port", 443}}));
}

}  // namespace
}  // namespace kw::controller
