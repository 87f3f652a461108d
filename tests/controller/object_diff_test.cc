#include "controller/object_diff.h"

#include <gtest/gtest.h>

#include "controller/policy_server_objects.h"
#include "controller/webhook_objects.h"

namespace kw::controller {
namespace {

using nlohmann::json;
using ptr = json::json_pointer;

ControllerOptions options() {
  ControllerOptions opts;
  opts.deployments_namespace = "kubewarden";
  return opts;
}

json policyServer() {
  return json::parse(R"({"apiVersion":"policies.kubewarden.io/v1","kind":"PolicyServer",
    "metadata":{"name":"default","uid":"ps-uid"},
    "spec":{"image":"ghcr.io/kubewarden/policy-server:v1.10.0","replicas":1}})");
}

json desiredDeployment() {
  return deployment(policyServer(), "100", options());
}

// What the API server stores for `desired`: identity, defaults, empty values dropped, status.
json storedDeployment(const json& desired) {
  json live = desired;
  live["metadata"]["resourceVersion"] = "2001";
  live["metadata"]["uid"] = "dep-uid";
  live["metadata"]["generation"] = 1;
  live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1";
  live["metadata"]["managedFields"] = json::array({{{"manager", "kubewarden-controller"}}});
  live["spec"]["progressDeadlineSeconds"] = 600;
  live["spec"]["revisionHistoryLimit"] = 10;
  live["spec"]["strategy"]["rollingUpdate"] = {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}};
  if (live["spec"]["template"]["metadata"]["annotations"].empty())  // {} is omitted
    live["spec"]["template"]["metadata"].erase("annotations");
  json& pod = live["spec"]["template"]["spec"];
  pod.erase("serviceAccountName");  // "" is omitted
  pod["restartPolicy"] = "Always";
  pod["terminationGracePeriodSeconds"] = 30;
  pod["dnsPolicy"] = "ClusterFirst";
  pod["schedulerName"] = "default-scheduler";
  pod["volumes"][1]["secret"]["defaultMode"] = 420;
  pod["volumes"][2]["configMap"]["defaultMode"] = 420;
  json& c = pod["containers"][0];
  c["imagePullPolicy"] = "IfNotPresent";
  c["terminationMessagePath"] = "/dev/termination-log";
  c["terminationMessagePolicy"] = "File";
  c["resources"] = json::object();
  c["readinessProbe"].update({{"timeoutSeconds", 1},
                              {"periodSeconds", 10},
                              {"successThreshold", 1},
                              {"failureThreshold", 3}});
  live["status"] = {{"replicas", 1}, {"observedGeneration", 1}};
  return live;
}

TEST(NeedsUpdate, StoredDeploymentWithServerDefaultsIsUpToDate) {
  json desired = desiredDeployment();
  EXPECT_FALSE(needsUpdate(desired, storedDeployment(desired)));
}

TEST(NeedsUpdate, RolloutRestartAnnotationIsIgnored) {
  json desired = desiredDeployment();
  json live = storedDeployment(desired);
  live["spec"]["template"]["metadata"]["annotations"] = {
      {"kubectl.kubernetes.io/restartedAt", "2026-12-04T22:00:00Z"}};
  EXPECT_FALSE(needsUpdate(desired, live));
}

TEST(NeedsUpdate, DeploymentChangesUpstreamRollsOutOn) {
  json desired = desiredDeployment();
  const json live = storedDeployment(desired);
  auto changed = [&](const std::string& pointer, const json& value) {
    json edited = live;
    edited[ptr(pointer)] = value;
    return needsUpdate(desired, edited);
  };
  EXPECT_TRUE(changed("/spec/replicas", 3));
  EXPECT_TRUE(changed("/spec/template/spec/containers/0/image", "policy-server:other"));
  EXPECT_TRUE(changed("/spec/template/spec/serviceAccountName", "someone"));
  EXPECT_TRUE(changed("/spec/template/spec/securityContext/runAsUser", 0));
  EXPECT_TRUE(changed("/metadata/annotations/kubewarden~1config-version", "99"));
  EXPECT_TRUE(changed("/spec/template/metadata/labels/kubewarden~1config-version", "99"));
  EXPECT_TRUE(changed("/spec/template/spec/containers/0/env/2/value", "9443"));
  EXPECT_TRUE(
      changed("/spec/template/spec/containers/0/env/6", json{{"name", "EXTRA"}, {"value", "1"}}));
  EXPECT_TRUE(changed("/spec/template/metadata/annotations/someone", "added"));
  EXPECT_TRUE(changed("/spec/template/spec/containers/0/securityContext/privileged", true));
  EXPECT_TRUE(changed("/spec/template/spec/containers/0/securityContext/runAsUser", 0));
  EXPECT_TRUE(changed("/spec/template/spec/volumes/1/secret/secretName", "other"));
}

TEST(NeedsUpdate, NewTemplateAnnotationOrRemovedOneIsADifference) {
  json ps = policyServer();
  ps["spec"]["annotations"] = {{"team", "a"}};
  json with = deployment(ps, "100", options());
  json without = desiredDeployment();
  EXPECT_TRUE(needsUpdate(with, storedDeployment(without)));
  EXPECT_TRUE(needsUpdate(without, storedDeployment(with)));
  EXPECT_FALSE(needsUpdate(with, storedDeployment(with)));
}

TEST(NeedsUpdate, PodSecurityContextRemovedFromSpecIsADifference) {
  json ps = policyServer();
  ps["spec"]["securityContexts"] = {{"pod", {{"runAsUser", 1000}}}};
  json old_desired = deployment(ps, "100", options());
  EXPECT_TRUE(needsUpdate(desiredDeployment(), storedDeployment(old_desired)));
}

TEST(NeedsUpdate, OtherLabelsAndOwnersOnLiveAreFine) {
  json desired = desiredDeployment();
  json live = storedDeployment(desired);
  live["metadata"]["labels"]["argocd.argoproj.io/instance"] = "kw";
  live["metadata"]["ownerReferences"].push_back(
      {{"apiVersion", "v1"}, {"kind", "Other"}, {"name", "x"}, {"uid", "other-uid"}});
  EXPECT_FALSE(needsUpdate(desired, live));
  live["metadata"]["labels"].erase("app");
  EXPECT_TRUE(needsUpdate(desired, live));
  live = storedDeployment(desired);
  live["metadata"].erase("ownerReferences");
  EXPECT_TRUE(needsUpdate(desired, live));
}

TEST(NeedsUpdate, ServiceWithAllocatedAddressesIsUpToDate) {
  json desired = service(policyServer(), options());
  json live = desired;
  live["metadata"]["resourceVersion"] = "7";
  live["spec"].update(json::parse(R"({"clusterIP":"10.0.0.12","clusterIPs":["10.0.0.12"],
    "type":"ClusterIP","sessionAffinity":"None","ipFamilies":["IPv4"],
    "ipFamilyPolicy":"SingleStack","internalTrafficPolicy":"Cluster"})"));
  EXPECT_FALSE(needsUpdate(desired, live));
  json edited = live;
  edited["spec"]["selector"]["extra"] = "x";
  EXPECT_TRUE(needsUpdate(desired, edited));
  ControllerOptions metrics = options();
  metrics.enable_metrics = true;
  EXPECT_TRUE(needsUpdate(service(policyServer(), metrics), live));
  // The metrics port gets a targetPort from the API server: still up to date.
  json with_metrics = service(policyServer(), metrics);
  json live_metrics = with_metrics;
  live_metrics["spec"]["ports"][1]["targetPort"] = 8080;
  EXPECT_FALSE(needsUpdate(with_metrics, live_metrics));
}

TEST(NeedsUpdate, ConfigMapDataChange) {
  json policy = json::parse(R"({"kind":"ClusterAdmissionPolicy","metadata":{"name":"p"},
    "spec":{"module":"registry://r/p:1","mode":"protect","mutating":false}})");
  json desired = configMap(policyServer(), {policy}, options());
  json live = desired;
  live["metadata"]["resourceVersion"] = "100";
  EXPECT_FALSE(needsUpdate(desired, live));
  EXPECT_TRUE(needsUpdate(configMap(policyServer(), {}, options()), live));
}

json clusterPolicy() {
  return json::parse(R"({"kind":"ClusterAdmissionPolicy","metadata":{"name":"privileged-pods"},
    "spec":{"module":"registry://r/p:1","mutating":false,
      "rules":[{"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"],"operations":["CREATE"]}]}})");
}

// The stored form of a webhook configuration: identity and nothing else, since every default is
// already written by webhookConfiguration.
json storedWebhook(const json& desired) {
  json live = desired;
  live["metadata"]["resourceVersion"] = "55";
  live["metadata"]["uid"] = "wh-uid";
  live["metadata"]["generation"] = 1;
  return live;
}

TEST(NeedsUpdate, WebhookEditsAreRepaired) {
  json desired = webhookConfiguration(clusterPolicy(), "PEM", options());
  const json live = storedWebhook(desired);
  EXPECT_FALSE(needsUpdate(desired, live));
  auto changed = [&](const std::string& pointer, const json& value) {
    json edited = live;
    edited[ptr(pointer)] = value;
    return needsUpdate(desired, edited);
  };
  EXPECT_TRUE(changed("/webhooks/0/clientConfig/caBundle", "b3RoZXI="));
  EXPECT_TRUE(changed("/webhooks/0/failurePolicy", "Ignore"));
  EXPECT_TRUE(changed("/webhooks/0/rules/0/operations", json::array({"DELETE"})));
  EXPECT_TRUE(changed("/webhooks/0/rules/1", desired["webhooks"][0]["rules"][0]));
  EXPECT_TRUE(changed("/webhooks/0/namespaceSelector/matchLabels", json{{"a", "b"}}));
  EXPECT_TRUE(changed("/webhooks/0/objectSelector/matchLabels", json{{"a", "b"}}));
  EXPECT_TRUE(changed("/webhooks/0/timeoutSeconds", 30));
  EXPECT_TRUE(changed("/metadata/labels/kubewarden", "false"));
  EXPECT_TRUE(changed("/webhooks", json::array()));
  json unlabelled = live;
  unlabelled["metadata"]["labels"].erase("kubewardenPolicyScope");
  EXPECT_TRUE(needsUpdate(desired, unlabelled));
  // The policy's own change (its mode, module…) does not show in the webhook; its rules do.
  json policy = clusterPolicy();
  policy["spec"]["rules"][0]["operations"].push_back("UPDATE");
  EXPECT_TRUE(needsUpdate(webhookConfiguration(policy, "PEM", options()), live));
}

TEST(MergedForUpdate, KeepsLiveIdentityAndOthersKeysAndReplacesOurs) {
  json desired = desiredDeployment();
  json live = storedDeployment(desired);
  live["metadata"]["labels"]["argocd.argoproj.io/instance"] = "kw";
  live["spec"]["replicas"] = 5;
  live["spec"]["template"]["metadata"]["annotations"] = {
      {"kubectl.kubernetes.io/restartedAt", "2026-12-04T22:00:00Z"}, {"someone", "added"}};
  ASSERT_TRUE(needsUpdate(desired, live));

  json merged = mergedForUpdate(desired, live);
  EXPECT_EQ(merged["metadata"]["resourceVersion"], "2001");
  EXPECT_EQ(merged["metadata"]["uid"], "dep-uid");
  EXPECT_EQ(merged["metadata"]["labels"]["argocd.argoproj.io/instance"], "kw");
  EXPECT_EQ(merged["metadata"]["labels"]["app"], "kubewarden-policy-server-default");
  EXPECT_EQ(merged["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
  EXPECT_EQ(merged["spec"]["replicas"], 1);
  EXPECT_EQ(merged["spec"]["template"]["metadata"]["annotations"],
            json::parse(R"({"kubectl.kubernetes.io/restartedAt":"2026-12-04T22:00:00Z"})"));
  EXPECT_FALSE(needsUpdate(desired, merged));
}

TEST(MergedForUpdate, ServiceKeepsItsClusterIpAndOwnersAreMerged) {
  json desired = service(policyServer(), options());
  json live = desired;
  live["metadata"]["resourceVersion"] = "7";
  live["metadata"]["ownerReferences"] =
      json::array({{{"apiVersion", "v1"}, {"kind", "Other"}, {"name", "x"}, {"uid", "other-uid"}}});
  live["spec"].update(json::parse(R"({"clusterIP":"10.0.0.12","clusterIPs":["10.0.0.12"],
    "ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack"})"));
  json merged = mergedForUpdate(desired, live);
  EXPECT_EQ(merged["spec"]["clusterIP"], "10.0.0.12");
  EXPECT_EQ(merged["spec"]["clusterIPs"], json::array({"10.0.0.12"}));
  EXPECT_EQ(merged["spec"]["ipFamilyPolicy"], "SingleStack");
  EXPECT_EQ(merged["metadata"]["resourceVersion"], "7");
  ASSERT_EQ(merged["metadata"]["ownerReferences"].size(), 2u);
  EXPECT_EQ(merged["metadata"]["ownerReferences"][1]["uid"], "ps-uid");
  EXPECT_FALSE(needsUpdate(desired, merged));
}

TEST(MergedForUpdate, WebhookGetsOurLabelsAndWebhooksBack) {
  json desired = webhookConfiguration(clusterPolicy(), "PEM", options());
  json live = storedWebhook(desired);
  live["metadata"]["labels"] = {{"mine", "yes"}};
  live["webhooks"][0]["failurePolicy"] = "Ignore";
  json merged = mergedForUpdate(desired, live);
  EXPECT_EQ(merged["metadata"]["labels"],
            json::parse(R"({"mine":"yes","kubewarden":"true","kubewardenPolicyScope":"cluster"})"));
  EXPECT_EQ(merged["metadata"]["uid"], "wh-uid");
  EXPECT_EQ(merged["webhooks"], desired["webhooks"]);
  EXPECT_FALSE(needsUpdate(desired, merged));
}

}  // namespace
}  // namespace kw::controller
