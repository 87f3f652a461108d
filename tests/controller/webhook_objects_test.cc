#include "controller/webhook_objects.h"

#include <gtest/gtest.h>

#include "common/base64.h"

namespace kw::controller {
namespace {

using nlohmann::json;

const char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

ControllerOptions options() {
  ControllerOptions opts;
  opts.deployments_namespace = "kubewarden";
  return opts;
}

json clusterPolicy() {
  return json::parse(R"({
    "apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy",
    "metadata": {"name": "privileged-pods"},
    "spec": {"policyServer": "reserved", "module": "registry://r/pod-privileged:v0.2.5",
             "mode": "protect", "mutating": false, "timeoutSeconds": 10,
             "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                        "operations": ["CREATE", "UPDATE"]}]}
  })");
}

json namespacedPolicy() {
  return json::parse(R"({
    "apiVersion": "policies.kubewarden.io/v1", "kind": "AdmissionPolicy",
    "metadata": {"name": "safe-labels", "namespace": "team-a"},
    "spec": {"module": "registry://r/safe-labels:v0.1.0", "mutating": true,
             "failurePolicy": "Ignore", "matchPolicy": "Exact", "sideEffects": "NoneOnDryRun",
             "timeoutSeconds": 3, "objectSelector": {"matchLabels": {"audited": "yes"}},
             "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                        "operations": ["*"], "scope": "*"}]}
  })");
}

TEST(WebhookConfiguration, ClusterPolicyIsValidatingWithEveryField) {
  json config = webhookConfiguration(clusterPolicy(), kCaPem, options());
  EXPECT_EQ(config, json::parse(R"({
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingWebhookConfiguration",
    "metadata": {"name": "clusterwide-privileged-pods",
                 "labels": {"kubewarden": "true", "kubewardenPolicyScope": "cluster"},
                 "annotations": {"kubewardenPolicyName": "privileged-pods",
                                 "kubewardenPolicyNamespace": ""}},
    "webhooks": [{
      "name": "clusterwide-privileged-pods.kubewarden.admission",
      "clientConfig": {"service": {"namespace": "kubewarden", "name": "policy-server-reserved",
                                   "path": "/validate/clusterwide-privileged-pods", "port": 8443},
                       "caBundle": ")" +
                                base64Encode(kCaPem) + R"("},
      "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                 "operations": ["CREATE", "UPDATE"], "scope": "*"}],
      "failurePolicy": "Fail", "matchPolicy": "Equivalent",
      "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                 "operator": "NotIn", "values": ["kubewarden"]}]},
      "objectSelector": {}, "sideEffects": "None", "timeoutSeconds": 10,
      "admissionReviewVersions": ["v1"]}]})"));
  EXPECT_EQ(webhookConfigurationResource(clusterPolicy()), "validatingwebhookconfigurations");
}

TEST(WebhookConfiguration, ClusterPolicyKeepsItsNamespaceSelectorAndExcludesOurs) {
  json policy = clusterPolicy();
  policy["spec"]["namespaceSelector"] = json::parse(R"({"matchLabels": {"env": "prod"},
    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]})");
  json selector =
      webhookConfiguration(policy, kCaPem, options())["webhooks"][0]["namespaceSelector"];
  EXPECT_EQ(selector, json::parse(R"({"matchLabels": {"env": "prod"}, "matchExpressions": [
    {"key": "tier", "operator": "In", "values": ["web"]},
    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kubewarden"]}]})"));
  // The policy object itself is left alone.
  EXPECT_EQ(policy["spec"]["namespaceSelector"]["matchExpressions"].size(), 1u);
}

TEST(WebhookConfiguration, NamespacedPolicyIsMutatingPinnedToItsNamespace) {
  json config = webhookConfiguration(namespacedPolicy(), kCaPem, options());
  EXPECT_EQ(config["kind"], "MutatingWebhookConfiguration");
  EXPECT_EQ(webhookConfigurationResource(namespacedPolicy()), "mutatingwebhookconfigurations");
  EXPECT_EQ(config["metadata"], json::parse(R"({"name": "namespaced-team-a-safe-labels",
    "labels": {"kubewarden": "true", "kubewardenPolicyScope": "namespace"},
    "annotations": {"kubewardenPolicyName": "safe-labels", "kubewardenPolicyNamespace": "team-a"}})"));
  const json& hook = config["webhooks"][0];
  EXPECT_EQ(hook["name"], "namespaced-team-a-safe-labels.kubewarden.admission");
  // No spec.policyServer: the default one.
  EXPECT_EQ(hook["clientConfig"]["service"], json::parse(R"({"namespace": "kubewarden",
    "name": "policy-server-default", "path": "/validate/namespaced-team-a-safe-labels", "port": 8443})"));
  // Every rule is Namespaced, whatever the policy said.
  EXPECT_EQ(hook["rules"], json::parse(R"([{"apiGroups": ["apps"], "apiVersions": ["v1"],
    "resources": ["deployments"], "operations": ["*"], "scope": "Namespaced"}])"));
  EXPECT_EQ(hook["namespaceSelector"],
            json::parse(R"({"matchLabels": {"kubernetes.io/metadata.name": "team-a"}})"));
  EXPECT_EQ(hook["objectSelector"], json::parse(R"({"matchLabels": {"audited": "yes"}})"));
  EXPECT_EQ(hook["failurePolicy"], "Ignore");
  EXPECT_EQ(hook["matchPolicy"], "Exact");
  EXPECT_EQ(hook["sideEffects"], "NoneOnDryRun");
  EXPECT_EQ(hook["timeoutSeconds"], 3);
  EXPECT_EQ(hook["reinvocationPolicy"], "Never");
  EXPECT_EQ(hook["admissionReviewVersions"], json::array({"v1"}));
}

TEST(WebhookConfiguration, DefaultPolicyServerFlagAndDeploymentsNamespace) {
  ControllerOptions opts = options();
  opts.deployments_namespace = "kw-system";
  opts.default_policy_server = "main";
  json policy = namespacedPolicy();
  EXPECT_EQ(policyServerOf(policy, opts), "main");
  json hook = webhookConfiguration(policy, kCaPem, opts)["webhooks"][0];
  EXPECT_EQ(hook["clientConfig"]["service"]["name"], "policy-server-main");
  EXPECT_EQ(hook["clientConfig"]["service"]["namespace"], "kw-system");
  json cluster_hook = webhookConfiguration(clusterPolicy(), kCaPem, opts)["webhooks"][0];
  EXPECT_EQ(cluster_hook["namespaceSelector"]["matchExpressions"][0]["values"],
            json::array({"kw-system"}));
  EXPECT_EQ(policyServerOf(clusterPolicy(), opts), "reserved");
}

TEST(WebhookConfiguration, CaBundleIsBase64OfThePem) {
  json hook = webhookConfiguration(clusterPolicy(), kCaPem, options())["webhooks"][0];
  auto decoded = base64Decode(hook["clientConfig"]["caBundle"].get<std::string>());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, kCaPem);
}

}  // namespace
}  // namespace kw::controller

namespace kw::controller {
namespace {

TEST(PolicyOfWebhookConfiguration, MapsOurConfigurationsBackToTheirPolicy) {
  auto cap = policyOfWebhookConfiguration(webhookConfiguration(clusterPolicy(), kCaPem, options()));
  ASSERT_TRUE(cap.has_value());
  EXPECT_EQ(*cap, (PolicyRef{PolicyKind::kCluster, "", "privileged-pods"}));
  auto ap =
      policyOfWebhookConfiguration(webhookConfiguration(namespacedPolicy(), kCaPem, options()));
  ASSERT_TRUE(ap.has_value());
  EXPECT_EQ(*ap, (PolicyRef{PolicyKind::kNamespaced, "team-a", "safe-labels"}));
}

TEST(PolicyOfWebhookConfiguration, IgnoresConfigurationsMissingALabelOrAnnotation) {
  json ours = webhookConfiguration(namespacedPolicy(), kCaPem, options());
  for (const char* pointer :
       {"/metadata/labels/kubewarden", "/metadata/labels/kubewardenPolicyScope",
        "/metadata/annotations/kubewardenPolicyName",
        "/metadata/annotations/kubewardenPolicyNamespace"}) {
    json edited = ours;
    json::json_pointer p(pointer);
    edited[p.parent_pointer()].erase(p.back());
    EXPECT_FALSE(policyOfWebhookConfiguration(edited).has_value()) << pointer;
  }
  json other_scope = ours;
  other_scope["metadata"]["labels"]["kubewardenPolicyScope"] = "galaxy";
  EXPECT_FALSE(policyOfWebhookConfiguration(other_scope).has_value());
  EXPECT_FALSE(
      policyOfWebhookConfiguration(json::parse(R"({"metadata":{"name":"cert-manager"}})")));
}

}  // namespace
}  // namespace kw::controller
