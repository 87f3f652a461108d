// kubewarden-controller against the real kube-apiserver: the controller runs as a process
// (build/bin/kubewarden-controller) with the test cluster's kubeconfig and the test's namespace
// as --deployments-namespace. PolicyServers and policies are cluster-wide, so each test labels
// its own and starts the controller with the hidden --label-selector: tests sharing the API
// server never see each other's objects.
//
// Policies reach `active` only when every policy-server Pod runs the newest config, so those
// tests need kube-controller-manager and the kubelet stand-in of the CTest fixture: the
// Deployment rolls out for real and the stand-in runs our policy-server with the ConfigMap the
// controller wrote (the policy a file:// module of our test guests). Tests that need no Pods use
// replicas 0.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cluster/controller_process.h"
#include "common/yaml_json.h"
#include "support/cant_run.h"
#include "support/charts_lock.h"
#include "support/cluster_env.h"
#include "support/cluster_state.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kPolicies = "/apis/policies.kubewarden.io/v1/";
const std::string kAdmissionReg = "/apis/admissionregistration.k8s.io/v1/";

class ControllerCluster : public ClusterTest {
 protected:
  std::unique_ptr<ChartsLock> charts_lock_;
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    // Held for the whole test: the Helm install test must not uninstall the CRDs meanwhile.
    charts_lock_ = std::make_unique<ChartsLock>(KW_CLUSTER_DIR, ChartsLock::Mode::kShared);
    ASSERT_TRUE(charts_lock_->held()) << "cannot lock " << KW_CLUSTER_DIR << "/charts.lock";
    applyCrds();
    selector_ = "kw-test=" + ns_;
    // A short deployments namespace and PolicyServer names: the serving certificate's subject
    // (policy-server-<ps>.<namespace>.svc) must fit X.509's 64-character CN.
    suffix_ = randomUid().substr(0, 8);
    deploy_ns_ = "kwc-" + suffix_;
    auto made = createNamespace(*admin_, deploy_ns_);
    ASSERT_TRUE(made.ok()) << made.error().message;
  }
  std::string psName() const { return "ps-" + suffix_; }

  // The kubewarden-crds chart's CRDs, once per process; waits until each is Established.
  void applyCrds() {
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [&] {
      auto dir = std::filesystem::path(KW_SOURCE_DIR) / "charts/kubewarden-crds/templates";
      for (const char* file :
           {"policyservers.yaml", "clusteradmissionpolicies.yaml", "admissionpolicies.yaml"}) {
        auto text = readTextFile(dir / file);
        ASSERT_TRUE(text.ok()) << text.error().message;
        json crd = parseYamlToJson(*text);
        auto reply = admin_->request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                     crd.dump(), "application/json");
        ASSERT_TRUE(reply.ok()) << reply.error().message;
        ASSERT_TRUE(reply->status == 201 || reply->status == 409) << reply->body;
        std::string name = crd["metadata"]["name"];
        ASSERT_TRUE(waitFor([&] {
          auto got = admin_->request(
              "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name);
          if (!got.ok() || got->status != 200) return false;
          for (const json& c : json::parse(got->body)["status"].value("conditions", json::array()))
            if (c["type"] == "Established" && c["status"] == "True") return true;
          return false;
        })) << name << " never became Established";
      }
      ok = true;
    });
    ASSERT_TRUE(ok) << "the CRDs could not be applied";
  }

  json labels() const { return {{"kw-test", ns_}}; }

  json policyServerObject(const std::string& name, int replicas = 0) const {
    return {{"apiVersion", "policies.kubewarden.io/v1"},
            {"kind", "PolicyServer"},
            {"metadata", {{"name", name}, {"labels", labels()}}},
            {"spec", {{"image", "ghcr.io/kubewarden/policy-server:v1.10.0"}, {"replicas", replicas}}}};
  }
  // Pods need kube-controller-manager and the kubelet stand-in.
  void requireStandin() {
    auto error = env_.state.find(kClusterStandinError);
    std::string why = env_.state.count(kClusterStandinPid) == 0
                          ? "the control plane runs without the kubelet stand-in"
                      : error != env_.state.end() ? "the kubelet stand-in failed: " + error->second
                                                  : "";
    if (!why.empty()) KW_CANT_RUN() << why;
  }
  static std::string module() {
    return "file://" + (guestDir() / "annotated" / "pod_privileged.wasm").string();
  }

  json clusterPolicyObject(const std::string& name, const std::string& ps,
                           bool mutating = false) const {
    return {{"apiVersion", "policies.kubewarden.io/v1"},
            {"kind", "ClusterAdmissionPolicy"},
            {"metadata", {{"name", name}, {"labels", labels()}}},
            {"spec",
             {{"policyServer", ps},
              {"module", module()},
              {"mutating", mutating},
              {"settings", {{"a", 1}}},
              // Only this test's namespace: other tests' Pods never meet this webhook.
              {"namespaceSelector", {{"matchLabels", {{"kubernetes.io/metadata.name", ns_}}}}},
              {"rules",
               json::array({{{"apiGroups", {""}},
                             {"apiVersions", {"v1"}},
                             {"resources", {"pods"}},
                             {"operations", {"CREATE", "UPDATE"}}}})}}}};
  }

  std::optional<json> get(const std::string& path) {
    auto reply = admin_->request("GET", path);
    if (!reply.ok() || reply->status != 200) return std::nullopt;
    return json::parse(reply->body);
  }
  long send(const std::string& method, const std::string& path, const json& body,
            const std::string& type = "application/json") {
    auto reply = admin_->request(method, path, body.is_null() ? "" : body.dump(), type);
    EXPECT_TRUE(reply.ok()) << reply.error().message;
    return reply.ok() ? reply->status : 0;
  }
  std::string nsPath(const std::string& resource, const std::string& name = "") const {
    std::string group = resource == "deployments" || resource == "replicasets" ? "/apis/apps/v1"
                                                                              : "/api/v1";
    return group + "/namespaces/" + deploy_ns_ + "/" + resource + (name.empty() ? "" : "/" + name);
  }
  std::string policyStatus(const std::string& cap) {
    auto p = get(kPolicies + "clusteradmissionpolicies/" + cap);
    if (!p) return "<absent>";
    return (*p).value("status", json::object()).value("policyStatus", "");
  }

  // Scales PolicyServer `ps` (replicas), which rolls its Deployment out.
  void scale(const std::string& ps, int replicas) {
    json patch = {{"spec", {{"replicas", replicas}}}};
    ASSERT_EQ(send("PATCH", kPolicies + "policyservers/" + ps, patch,
                   "application/merge-patch+json"),
              200);
  }

  // Deletes this test's PolicyServers while `controller` still runs (their policies, webhooks
  // and Pods go with them), so nothing of a finished test keeps answering admission calls.
  struct Cleanup {
    ControllerCluster& t;
    ~Cleanup() {
      auto list = t.get(kPolicies + "policyservers?labelSelector=kw-test%3D" + t.ns_);
      if (!list) return;
      for (const json& ps : (*list)["items"]) {
        std::string path = kPolicies + "policyservers/" + ps["metadata"]["name"].get<std::string>();
        (void)t.admin_->request("DELETE", path);
        waitFor([&] { return !t.get(path); }, 30s);
      }
    }
  };

  std::string selector_, suffix_, deploy_ns_;
};

TEST_F(ControllerCluster, PolicyServerGetsItsSecretsConfigMapDeploymentAndService) {
  ControllerProcess controller(env_, deploy_ns_, selector_, "controller");
  // A PolicyServer left with its finalizer and no controller would hold the CRDs in Terminating
  // when the Helm install test uninstalls them.
  Cleanup cleanup{*this};
  std::string ps = psName();
  json created = create(kPolicies + "policyservers", policyServerObject(ps));
  ASSERT_FALSE(created.is_null());
  std::string object = "policy-server-" + ps;
  std::optional<json> svc;
  ASSERT_TRUE(waitFor([&] { return (svc = get(nsPath("services", object))).has_value(); }))
      << controller.log();

  auto root = get(nsPath("secrets", "policy-server-root-ca"));
  ASSERT_TRUE(root);
  for (const char* key : {"policy-server-root-ca-cert", "policy-server-root-ca-pem",
                          "policy-server-root-ca-privatekey-cert"})
    EXPECT_TRUE((*root)["data"].contains(key)) << key;
  auto serving = get(nsPath("secrets", object));
  ASSERT_TRUE(serving);
  EXPECT_TRUE((*serving)["data"].contains("policy-server-cert"));
  EXPECT_TRUE((*serving)["data"].contains("policy-server-key"));

  auto cm = get(nsPath("configmaps", object));
  ASSERT_TRUE(cm);
  EXPECT_EQ((*cm)["metadata"]["labels"]["kubewarden/policy-server"], ps);
  EXPECT_EQ(json::parse((*cm)["data"]["policies.yml"].get<std::string>()), json::object());
  auto dep = get(nsPath("deployments", object));
  ASSERT_TRUE(dep);
  EXPECT_EQ((*dep)["metadata"]["annotations"]["kubewarden/config-version"],
            (*cm)["metadata"]["resourceVersion"]);
  EXPECT_EQ((*svc)["spec"]["selector"]["app"], "kubewarden-policy-server-" + ps);
  // Owned by the PolicyServer, so deleting it cascades.
  EXPECT_EQ((*dep)["metadata"]["ownerReferences"][0]["uid"], created["metadata"]["uid"]);
  EXPECT_EQ((*dep)["metadata"]["ownerReferences"][0]["kind"], "PolicyServer");

  std::optional<json> stored;
  ASSERT_TRUE(waitFor([&] {
    stored = get(kPolicies + "policyservers/" + ps);
    return stored && stored->value("status", json::object()).contains("conditions") &&
           (*stored)["status"]["conditions"].size() >= 5;
  })) << controller.log();
  EXPECT_EQ((*stored)["metadata"]["finalizers"], json::array({"kubewarden"}));
  for (const json& c : (*stored)["status"]["conditions"])
    EXPECT_EQ(c["status"], "True") << c.dump();
  EXPECT_TRUE(controller.ready());
}

TEST_F(ControllerCluster, PolicyGoesScheduledPendingActiveAndGetsItsWebhook) {
  requireStandin();
  ControllerProcess controller(env_, deploy_ns_, selector_, "controller");
  Cleanup cleanup{*this};
  std::string ps = psName(), cap = "privileged-" + ns_;
  ASSERT_FALSE(create(kPolicies + "clusteradmissionpolicies", clusterPolicyObject(cap, ps)).is_null());
  EXPECT_TRUE(waitFor([&] { return policyStatus(cap) == "scheduled"; })) << controller.log();

  ASSERT_FALSE(create(kPolicies + "policyservers", policyServerObject(ps)).is_null());
  EXPECT_TRUE(waitFor([&] { return policyStatus(cap) == "pending"; })) << controller.log();
  std::optional<json> cm;
  ASSERT_TRUE(waitFor([&] {
    cm = get(nsPath("configmaps", "policy-server-" + ps));
    return cm && json::parse((*cm)["data"]["policies.yml"].get<std::string>())
                     .contains("clusterwide-" + cap);
  })) << controller.log();
  json entry = json::parse((*cm)["data"]["policies.yml"].get<std::string>())["clusterwide-" + cap];
  EXPECT_EQ(entry["namespacedName"], (json{{"Namespace", ""}, {"Name", cap}}));
  EXPECT_EQ(entry["url"], module());
  EXPECT_EQ(entry["policyMode"], "protect");
  EXPECT_EQ(entry["allowedToMutate"], false);
  EXPECT_EQ(entry["settings"], (json{{"a", 1}}));
  EXPECT_FALSE(get(kAdmissionReg + "validatingwebhookconfigurations/clusterwide-" + cap))
      << "no webhook before the policy-server runs the policy";

  scale(ps, 1);  // now the policy-server runs, with the policy
  ASSERT_TRUE(waitFor([&] { return policyStatus(cap) == "active"; }, 90s)) << controller.log();
  auto policy = get(kPolicies + "clusteradmissionpolicies/" + cap);
  EXPECT_EQ((*policy)["status"]["mode"], "protect");
  std::map<std::string, std::string> conditions;
  for (const json& c : (*policy)["status"]["conditions"]) conditions[c["type"]] = c["status"];
  EXPECT_EQ(conditions["PolicyActive"], "True");
  EXPECT_EQ(conditions["PolicyUniquelyReachable"], "True");
  EXPECT_EQ(conditions["PolicyServerConfigurationUpToDate"], "True");

  auto hook = get(kAdmissionReg + "validatingwebhookconfigurations/clusterwide-" + cap);
  ASSERT_TRUE(hook);
  EXPECT_EQ((*hook)["metadata"]["labels"]["kubewarden"], "true");
  EXPECT_EQ((*hook)["metadata"]["labels"]["kubewardenPolicyScope"], "cluster");
  EXPECT_EQ((*hook)["metadata"]["annotations"]["kubewardenPolicyName"], cap);
  const json& w = (*hook)["webhooks"][0];
  EXPECT_EQ(w["name"], "clusterwide-" + cap + ".kubewarden.admission");
  EXPECT_EQ(w["clientConfig"]["service"]["namespace"], deploy_ns_);
  EXPECT_EQ(w["clientConfig"]["service"]["name"], "policy-server-" + ps);
  EXPECT_EQ(w["clientConfig"]["service"]["path"], "/validate/clusterwide-" + cap);
  auto root = get(nsPath("secrets", "policy-server-root-ca"));
  EXPECT_EQ(w["clientConfig"]["caBundle"], (*root)["data"]["policy-server-root-ca-pem"]);
}

class ControllerWithActivePolicy : public ControllerCluster {
 protected:
  void SetUp() override {
    ControllerCluster::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    requireStandin();
    if (HasFatalFailure() || IsSkipped()) return;
    controller_ = std::make_unique<ControllerProcess>(env_, deploy_ns_, selector_, "controller");
    ps_ = psName();
    cap_ = "repair-" + ns_;
    hook_path_ = kAdmissionReg + "validatingwebhookconfigurations/clusterwide-" + cap_;
    ASSERT_FALSE(create(kPolicies + "policyservers", policyServerObject(ps_, 1)).is_null());
    ASSERT_FALSE(
        create(kPolicies + "clusteradmissionpolicies", clusterPolicyObject(cap_, ps_)).is_null());
    ASSERT_TRUE(waitFor([&] { return policyStatus(cap_) == "active"; }, 90s)) << controller_->log();
    original_ = *get(hook_path_);
  }
  // Waits until the webhook configuration's webhooks equal the original again; the time taken.
  std::chrono::milliseconds restored() {
    auto start = std::chrono::steady_clock::now();
    bool ok = waitFor([&] {
      auto now = get(hook_path_);
      return now && (*now)["webhooks"] == original_["webhooks"];
    }, 20s);
    EXPECT_TRUE(ok) << "not restored:\n" << controller_->log();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
  // Steady state: an unrelated edit (a label) reconciles again but must write nothing. `object`
  // is the edited resource's path, `controller_name` the reconciler that must run for it.
  void expectQuietAfterLabelEdit(const std::string& object, const std::string& controller_name) {
    auto counter = [&](const std::string& key) {
      std::string m = controller_->metrics();
      auto at = m.find(key);
      return at == std::string::npos ? -1L : std::stol(m.substr(m.find(' ', at) + 1));
    };
    auto reconciles = [&] {
      return counter("controller_runtime_reconcile_total{controller=\"" + controller_name +
                     "\",result=\"success\"}");
    };
    // The activation's own follow-up reconciles must be over before counting.
    ASSERT_TRUE(waitFor([&] {
      return counter("workqueue_depth{name=\"policyserver\"}") == 0 &&
             counter("workqueue_depth{name=\"clusteradmissionpolicy\"}") == 0;
    })) << controller_->metrics();
    long writes = controller_->writes();
    long before = reconciles();
    json patch = {{"metadata", {{"labels", {{"touched", "yes"}}}}}};
    ASSERT_EQ(send("PATCH", object, patch, "application/merge-patch+json"), 200);
    ASSERT_TRUE(waitFor([&] { return reconciles() > before; })) << controller_->log();
    EXPECT_EQ(controller_->writes(), writes) << controller_->metrics();
  }
  void TearDown() override {
    if (controller_) Cleanup{*this};
    controller_.reset();
  }
  std::unique_ptr<ControllerProcess> controller_;
  std::string ps_, cap_, hook_path_;
  json original_;
};

TEST_F(ControllerWithActivePolicy, DeletedWebhookIsRestoredWithinASecond) {
  ASSERT_EQ(send("DELETE", hook_path_, nullptr), 200);
  auto took = restored();
  RecordProperty("restore_ms", static_cast<int>(took.count()));
  EXPECT_LT(took, 1000ms) << "target: restored within 1 s";
}

TEST_F(ControllerWithActivePolicy, EditedRulesCaBundleAndFailurePolicyAreReverted) {
  json webhooks = original_["webhooks"];
  json edits = json::array();
  json rules = webhooks;
  rules[0]["rules"][0]["operations"] = json::array({"DELETE"});
  edits.push_back(rules);
  json ca = webhooks;
  ca[0]["clientConfig"]["caBundle"] = "Zm9v";  // base64("foo")
  edits.push_back(ca);
  json failure = webhooks;
  failure[0]["failurePolicy"] = failure[0]["failurePolicy"] == "Fail" ? "Ignore" : "Fail";
  edits.push_back(failure);
  for (const json& edited : edits) {
    auto live = get(hook_path_);
    ASSERT_TRUE(live);
    (*live)["webhooks"] = edited;
    ASSERT_EQ(send("PUT", hook_path_, *live), 200);
    restored();
  }
}

TEST_F(ControllerWithActivePolicy, StaysQuietWhenThePolicyServerIsRelabelled) {
  expectQuietAfterLabelEdit(kPolicies + "policyservers/" + ps_, "policyserver");
}

// Regression: PolicyActive used to be set False then True in one pass, moving its
// lastTransitionTime on every reconcile; each status write re-queued the policy (a write loop).
TEST_F(ControllerWithActivePolicy, StaysQuietWhenThePolicyIsRelabelled) {
  // Timestamps have whole seconds: a reconcile in the activation's second would hide the bug.
  const std::time_t activated = std::time(nullptr);
  ASSERT_TRUE(waitFor([&] { return std::time(nullptr) > activated; }));
  auto before = get(kPolicies + "clusteradmissionpolicies/" + cap_);
  ASSERT_TRUE(before);
  expectQuietAfterLabelEdit(kPolicies + "clusteradmissionpolicies/" + cap_,
                            "clusteradmissionpolicy");
  auto after = get(kPolicies + "clusteradmissionpolicies/" + cap_);
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)["status"], (*before)["status"]);
}

// AdmissionPolicy (§4.5): its own namespace only, Namespaced rules, a "namespaced-" unique name;
// `mutating` picks the configuration kind, and flipping it moves the webhook across kinds.
TEST_F(ControllerWithActivePolicy, AdmissionPolicyGetsANamespacedWebhookThatFollowsMutating) {
  const std::string name = "mutate", unique = "namespaced-" + ns_ + "-" + name;
  const std::string path =
      "/apis/policies.kubewarden.io/v1/namespaces/" + ns_ + "/admissionpolicies/" + name;
  json ap = clusterPolicyObject(name, ps_, /*mutating=*/true);
  ap["kind"] = "AdmissionPolicy";
  ap["metadata"]["namespace"] = ns_;
  ap["spec"].erase("namespaceSelector");
  ASSERT_FALSE(
      create("/apis/policies.kubewarden.io/v1/namespaces/" + ns_ + "/admissionpolicies", ap)
          .is_null());
  auto status = [&] {
    auto p = get(path);
    return p ? (*p).value("status", json::object()).value("policyStatus", "") : "<absent>";
  };
  ASSERT_TRUE(waitFor([&] { return status() == "active"; }, 90s)) << controller_->log();

  const std::string mutating = kAdmissionReg + "mutatingwebhookconfigurations/" + unique;
  const std::string validating = kAdmissionReg + "validatingwebhookconfigurations/" + unique;
  auto hook = get(mutating);
  ASSERT_TRUE(hook) << controller_->log();
  EXPECT_FALSE(get(validating));
  EXPECT_EQ((*hook)["metadata"]["labels"]["kubewardenPolicyScope"], "namespace");
  EXPECT_EQ((*hook)["metadata"]["annotations"]["kubewardenPolicyName"], name);
  EXPECT_EQ((*hook)["metadata"]["annotations"]["kubewardenPolicyNamespace"], ns_);
  const json& w = (*hook)["webhooks"][0];
  EXPECT_EQ(w["name"], unique + ".kubewarden.admission");
  EXPECT_EQ(w["clientConfig"]["service"]["path"], "/validate/" + unique);
  EXPECT_EQ(w["namespaceSelector"],
            (json{{"matchLabels", {{"kubernetes.io/metadata.name", ns_}}}}));
  EXPECT_EQ(w["rules"][0]["scope"], "Namespaced");
  auto cm = get(nsPath("configmaps", "policy-server-" + ps_));
  ASSERT_TRUE(cm);
  json entry = json::parse((*cm)["data"]["policies.yml"].get<std::string>())[unique];
  EXPECT_EQ(entry["namespacedName"], (json{{"Namespace", ns_}, {"Name", name}}));
  EXPECT_EQ(entry["allowedToMutate"], true);

  json patch = {{"spec", {{"mutating", false}}}};
  ASSERT_EQ(send("PATCH", path, patch, "application/merge-patch+json"), 200);
  EXPECT_TRUE(waitFor([&] { return get(validating) && !get(mutating); }, 90s))
      << controller_->log();

  ASSERT_EQ(send("DELETE", path, nullptr), 200);
  EXPECT_TRUE(waitFor([&] { return status() == "<absent>" && !get(validating); }))
      << controller_->log();
}

TEST_F(ControllerWithActivePolicy, DeletingThePolicyRemovesWebhookAndConfigMapEntry) {
  ASSERT_EQ(send("DELETE", kPolicies + "clusteradmissionpolicies/" + cap_, nullptr), 200);
  EXPECT_TRUE(waitFor([&] { return !get(hook_path_); })) << controller_->log();
  EXPECT_TRUE(waitFor([&] { return policyStatus(cap_) == "<absent>"; })) << controller_->log();
  EXPECT_TRUE(waitFor([&] {
    auto cm = get(nsPath("configmaps", "policy-server-" + ps_));
    return cm && !json::parse((*cm)["data"]["policies.yml"].get<std::string>())
                      .contains("clusterwide-" + cap_);
  })) << controller_->log();
}

TEST_F(ControllerWithActivePolicy, DeletingThePolicyServerDeletesItsPoliciesFirst) {
  ASSERT_EQ(send("DELETE", kPolicies + "policyservers/" + ps_, nullptr), 200);
  EXPECT_TRUE(waitFor([&] { return policyStatus(cap_) == "<absent>"; })) << controller_->log();
  EXPECT_TRUE(waitFor([&] { return !get(hook_path_); }));
  EXPECT_TRUE(waitFor([&] { return !get(kPolicies + "policyservers/" + ps_); }))
      << controller_->log();
  for (const char* resource : {"deployments", "configmaps", "services", "secrets"})
    EXPECT_TRUE(waitFor([&] { return !get(nsPath(resource, "policy-server-" + ps_)); }))
        << resource;
}

TEST_F(ControllerCluster, LeaderHandsOverOnShutdown) {
  std::vector<std::string> elect = {"--leader-elect", "--leader-election-id", "kw-test-leader"};
  auto first = std::make_unique<ControllerProcess>(env_, deploy_ns_, selector_, "first", elect);
  std::string lease_path =
      "/apis/coordination.k8s.io/v1/namespaces/" + deploy_ns_ + "/leases/kw-test-leader";
  auto holder = [&] {
    auto lease = get(lease_path);
    return lease ? (*lease)["spec"].value("holderIdentity", "") : std::string();
  };
  ASSERT_TRUE(waitFor([&] { return !holder().empty(); })) << first->log();
  std::string first_id = holder();
  ControllerProcess second(env_, deploy_ns_, selector_, "second", elect);
  Cleanup cleanup{*this};  // gone before `second` stops
  ASSERT_TRUE(waitFor([&] { return second.ready(); })) << second.log();
  EXPECT_EQ(holder(), first_id) << "the standby must not take a held lease";

  std::string ps = psName();
  ASSERT_FALSE(create(kPolicies + "policyservers", policyServerObject(ps)).is_null());
  ASSERT_TRUE(waitFor([&] { return get(nsPath("configmaps", "policy-server-" + ps)).has_value(); }));
  EXPECT_EQ(second.writes(), 0) << "a standby writes nothing";

  auto stopped_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(first->stop()) << "SIGTERM must stop the leader cleanly";
  ASSERT_TRUE(waitFor([&] { return !holder().empty() && holder() != first_id; }, 20s))
      << second.log();
  auto handover = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_LT(handover, 5s) << "the released lease is taken within a retry period";
  // The new leader reconciles: a deleted Service comes back.
  ASSERT_EQ(send("DELETE", nsPath("services", "policy-server-" + ps), nullptr), 200);
  EXPECT_TRUE(waitFor([&] { return get(nsPath("services", "policy-server-" + ps)).has_value(); }))
      << second.log();
}

}  // namespace
}  // namespace kw::test
