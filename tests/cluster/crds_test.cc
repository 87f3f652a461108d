// Our CRDs on the real kube-apiserver (spec §4.1): the kubewarden-crds chart's templates apply
// and become Established; upstream-style manifests (examples/crds/, v1 and v1alpha2) apply
// unchanged and get the schema's defaults; kubectl shows the printer columns. Then the
// controller's webhook server for these CRDs (src/controller/admission_server.h) runs in this
// process, registered through Mutating/ValidatingWebhookConfigurations, and every defaulting and
// validation rule is checked through the API server with upstream's texts.
//
// The CRDs are cluster-wide and shared with every other test; applying them is idempotent. The
// webhook configurations only see objects labelled with this test's namespace (an
// objectSelector: PolicyServers and ClusterAdmissionPolicies have no namespace), so tests running
// in parallel never reach our server. Objects a running controller could act on (PolicyServers,
// ClusterAdmissionPolicies) are only created with dryRun=All or deleted right away.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/harness_pki.h"
#include "common/base64.h"
#include "common/yaml_json.h"
#include "controller/admission_server.h"
#include "controller/crd_webhooks.h"
#include "support/cluster_env.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kGroupPath[] = "/apis/policies.kubewarden.io";
constexpr char kTestLabel[] = "kubewarden-cpp.test/crd-admission";
const std::vector<std::string> kCrds = {"policyservers.policies.kubewarden.io",
                                        "clusteradmissionpolicies.policies.kubewarden.io",
                                        "admissionpolicies.policies.kubewarden.io"};

std::string statusMessage(const std::string& body) {
  auto parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("message")) return body;
  return parsed["message"].get<std::string>();
}

bool established(const json& crd) {
  for (const json& condition : crd.value("/status/conditions"_json_pointer, json::array()))
    if (condition.value("type", "") == "Established" && condition.value("status", "") == "True")
      return true;
  return false;
}

class CrdTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dir_ = fs::path(KW_CLUSTER_DIR) / "tests" / "crds" / ns_;
    fs::create_directories(dir_);
    // charts_install_test.cc installs and uninstalls these CRDs with helm under an exclusive
    // lock on this file; a shared lock keeps that from happening while we use them.
    lock_fd_ = ::open((fs::path(KW_CLUSTER_DIR) / "charts.lock").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(lock_fd_, 0);
    ASSERT_EQ(::flock(lock_fd_, LOCK_SH), 0);
    applyCrds();
  }

  void TearDown() override {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  CommandResult kubectl(const std::string& args) {
    return runCommand((env_.tools / "kubectl").string() + " --kubeconfig " +
                      env_.kubeconfig.string() + " " + args + " 2>&1");
  }

  // kubectl apply of the chart's three policies.kubewarden.io templates (plain YAML; the
  // wgpolicyk8s.io ones beside them are Helm templates), retried: another test may apply or
  // create them at the same moment. Then every CRD Established and both versions served.
  void applyCrds() {
    const fs::path templates = sourceDir() / "charts" / "kubewarden-crds" / "templates";
    std::string files;
    for (const char* file :
         {"policyservers.yaml", "clusteradmissionpolicies.yaml", "admissionpolicies.yaml"})
      files += " -f " + (templates / file).string();
    CommandResult applied;
    ASSERT_TRUE(waitFor([&] {
      applied = kubectl("apply" + files);
      return applied.status == 0;
    })) << applied.out;
    for (const std::string& name : kCrds) {
      json crd;
      ASSERT_TRUE(waitFor([&] {
        auto reply = admin_->request(
            "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name);
        if (!reply.ok() || reply->status != 200) return false;
        crd = json::parse(reply->body);
        return established(crd);
      })) << name
          << " not Established: " << crd.dump();
    }
    ASSERT_TRUE(waitFor([&] {
      for (const char* version : {"/v1", "/v1alpha2"}) {
        auto reply = admin_->request("GET", std::string(kGroupPath) + version);
        if (!reply.ok() || reply->status != 200) return false;
      }
      return true;
    }));
  }

  json getCrd(const std::string& name) {
    auto reply =
        admin_->request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name);
    EXPECT_TRUE(reply.ok() && reply->status == 200);
    return reply.ok() ? json::parse(reply->body, nullptr, false) : json();
  }

  fs::path writeManifest(const std::string& file, const json& manifest) {
    fs::path path = dir_ / file;
    std::ofstream(path) << manifest.dump(2);
    return path;
  }

  // The namespace's random suffix: names of cluster-scoped objects that must stay short.
  std::string suffix() const { return ns_.substr(ns_.size() - 6); }

  fs::path dir_;
  int lock_fd_ = -1;
};

TEST_F(CrdTest, ChartTemplatesAreEstablishedWithUpstreamsNamesAndVersions) {
  struct Expected {
    std::string name, kind, scope, short_name;
  };
  for (const Expected& e : {Expected{kCrds[0], "PolicyServer", "Cluster", "ps"},
                            Expected{kCrds[1], "ClusterAdmissionPolicy", "Cluster", "cap"},
                            Expected{kCrds[2], "AdmissionPolicy", "Namespaced", "ap"}}) {
    json crd = getCrd(e.name);
    EXPECT_EQ(crd["spec"]["names"]["kind"], e.kind);
    EXPECT_EQ(crd["spec"]["scope"], e.scope);
    EXPECT_EQ(crd["spec"]["names"]["shortNames"], json({e.short_name}));
    ASSERT_EQ(crd["spec"]["versions"].size(), 2u);
    const json& v1 = crd["spec"]["versions"][0];
    const json& v1alpha2 = crd["spec"]["versions"][1];
    EXPECT_EQ(v1["name"], "v1");
    EXPECT_EQ(v1["storage"], true);
    EXPECT_EQ(v1alpha2["name"], "v1alpha2");
    EXPECT_EQ(v1alpha2["served"], true);
    EXPECT_EQ(v1alpha2["storage"], false);
    EXPECT_EQ(v1["subresources"], json({{"status", json::object()}}));
    EXPECT_EQ(crd["status"]["acceptedNames"]["kind"], e.kind);
  }
  // The chart is what `helm` ships: its metadata names the release it carries.
  auto chart = readTextFile(sourceDir() / "charts" / "kubewarden-crds" / "Chart.yaml");
  ASSERT_TRUE(chart.ok());
  EXPECT_NE(chart->find("name: kubewarden-crds"), std::string::npos);
  EXPECT_NE(chart->find("version: 1.4.5"), std::string::npos);
  EXPECT_NE(chart->find("appVersion: v1.10.0"), std::string::npos);
}

TEST_F(CrdTest, UpstreamStyleManifestsApplyUnchangedAndGetTheSchemaDefaults) {
  const fs::path examples = sourceDir() / "examples" / "crds";
  // Server-side dry run: the API server decodes, defaults, prunes and validates them as it
  // would store them, without leaving objects a controller could act on.
  std::map<std::string, json> applied;
  for (const char* file :
       {"policyserver-v1.yaml", "clusteradmissionpolicy-v1.yaml", "admissionpolicy-v1.yaml",
        "policyserver-v1alpha2.yaml", "clusteradmissionpolicy-v1alpha2.yaml",
        "admissionpolicy-v1alpha2.yaml"}) {
    CommandResult out =
        kubectl("apply --dry-run=server -o json -n " + ns_ + " -f " + (examples / file).string());
    ASSERT_EQ(out.status, 0) << file << ": " << out.out;
    json object = json::parse(out.out, nullptr, false);
    ASSERT_TRUE(object.is_object()) << file << ": " << out.out;
    applied[file] = object;
  }
  // Nothing in the manifests was pruned: every field came back as written.
  json ps = applied["policyserver-v1.yaml"];
  EXPECT_EQ(ps["spec"]["securityContexts"]["container"]["seccompProfile"]["type"],
            "RuntimeDefault");
  EXPECT_EQ(ps["spec"]["env"][1]["valueFrom"]["configMapKeyRef"]["key"], "policy-timeout");
  EXPECT_EQ(ps["spec"]["securityContexts"]["pod"]["supplementalGroups"], json({3000}));
  EXPECT_EQ(ps["spec"]["sourceAuthorities"].size(), 1u);
  json cap = applied["clusteradmissionpolicy-v1.yaml"];
  EXPECT_EQ(cap["spec"]["contextAwareResources"][0]["kind"], "Namespace");
  EXPECT_EQ(cap["spec"]["settings"]["allowed_capabilities"], json({"CHOWN"}));
  EXPECT_EQ(cap["spec"]["namespaceSelector"]["matchExpressions"][0]["operator"], "NotIn");
  EXPECT_EQ(cap["spec"]["timeoutSeconds"], 5);
  // Defaults from the schema.
  json ap = applied["admissionpolicy-v1.yaml"];
  EXPECT_EQ(ap["metadata"]["namespace"], ns_);
  EXPECT_EQ(ap["spec"]["policyServer"], "default");
  EXPECT_EQ(ap["spec"]["timeoutSeconds"], 10);
  EXPECT_EQ(ap["spec"]["backgroundAudit"], true);
  EXPECT_EQ(ap["spec"]["mode"], "monitor");
  json legacy = applied["clusteradmissionpolicy-v1alpha2.yaml"];
  EXPECT_EQ(legacy["apiVersion"], "policies.kubewarden.io/v1alpha2");
  EXPECT_EQ(legacy["spec"]["policyServer"], "default");
  EXPECT_EQ(legacy["spec"]["mode"], "protect");
  EXPECT_EQ(legacy["spec"]["timeoutSeconds"], 10);
  EXPECT_FALSE(legacy["spec"].contains("backgroundAudit"));  // not a v1alpha2 field
  EXPECT_EQ(applied["admissionpolicy-v1alpha2.yaml"]["spec"]["settings"]["denied_labels"],
            json({"cost-center"}));
}

TEST_F(CrdTest, SchemaRefusesWhatUpstreamsSchemaRefuses) {
  json bad = {
      {"apiVersion", "policies.kubewarden.io/v1"},
      {"kind", "AdmissionPolicy"},
      {"metadata", {{"name", "bad-mode"}}},
      {"spec",
       {{"module", "registry://example/p:v1"}, {"mode", "enforce"}, {"rules", json::array()}}}};
  CommandResult out = kubectl("apply --dry-run=server -n " + ns_ + " -f " +
                              writeManifest("bad-mode.json", bad).string());
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.out.find("spec.mode: Unsupported value: \"enforce\""), std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("spec.mutating: Required value"), std::string::npos) << out.out;

  json ps = {{"apiVersion", "policies.kubewarden.io/v1"},
             {"kind", "PolicyServer"},
             {"metadata", {{"name", "pdb-" + suffix()}}},
             {"spec", {{"image", "x"}, {"replicas", 1}, {"minAvailable", "50%"}}}};
  out = kubectl("apply --dry-run=server -o json -f " + writeManifest("pdb.json", ps).string());
  ASSERT_EQ(out.status, 0) << out.out;
  EXPECT_EQ(json::parse(out.out)["spec"]["minAvailable"], "50%");  // int-or-string, v1 only
}

TEST_F(CrdTest, KubectlGetShowsThePrinterColumns) {
  json ap = {
      {"apiVersion", "policies.kubewarden.io/v1"},
      {"kind", "AdmissionPolicy"},
      {"metadata",
       {{"name", "columns"},
        {"annotations",
         {{"io.kubewarden.policy.severity", "low"}, {"io.kubewarden.policy.category", "Labels"}}}}},
      {"spec",
       {{"policyServer", "absent-" + ns_},
        {"module", "registry://example/p:v1"},
        {"mutating", true},
        {"rules",
         {{{"apiGroups", {""}},
           {"apiVersions", {"v1"}},
           {"resources", {"configmaps"}},
           {"operations", {"CREATE"}}}}}}}};
  CommandResult out =
      kubectl("apply -n " + ns_ + " -f " + writeManifest("columns.json", ap).string());
  ASSERT_EQ(out.status, 0) << out.out;

  out = kubectl("get ap -n " + ns_);
  ASSERT_EQ(out.status, 0) << out.out;
  EXPECT_NE(out.out.find("NAME      POLICY SERVER"), std::string::npos) << out.out;
  for (const char* column :
       {"MUTATING", "BACKGROUNDAUDIT", "MODE", "OBSERVED MODE", "STATUS", "AGE"})
    EXPECT_NE(out.out.find(column), std::string::npos) << column << "\n" << out.out;
  EXPECT_EQ(out.out.find("SEVERITY"), std::string::npos) << out.out;  // priority 1: -o wide
  EXPECT_NE(out.out.find("absent-" + ns_ + "   true       true              protect"),
            std::string::npos)
      << out.out;

  out = kubectl("get admissionpolicies.v1alpha2.policies.kubewarden.io -n " + ns_);
  EXPECT_EQ(out.out.find("BACKGROUNDAUDIT"), std::string::npos) << out.out;  // v1 column only
  EXPECT_NE(out.out.find("POLICY SERVER"), std::string::npos) << out.out;

  out = kubectl("get ap columns -o wide -n " + ns_);
  EXPECT_NE(out.out.find("SEVERITY   CATEGORY"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("low        Labels"), std::string::npos) << out.out;
  (void)kubectl("delete ap columns --wait=false -n " + ns_);

  // Cluster-scoped: a PolicyServer stored just long enough to be listed.
  const std::string ps_name = "columns-" + suffix();
  json ps = {{"apiVersion", "policies.kubewarden.io/v1"},
             {"kind", "PolicyServer"},
             {"metadata", {{"name", ps_name}}},
             {"spec", {{"image", "ghcr.io/kubewarden/policy-server:v1.10.0"}, {"replicas", 3}}}};
  out = kubectl("apply -f " + writeManifest("ps.json", ps).string());
  ASSERT_EQ(out.status, 0) << out.out;
  out = kubectl("get ps " + ps_name);
  (void)kubectl("delete ps " + ps_name + " --wait=false");
  EXPECT_NE(out.out.find("REPLICAS   IMAGE"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("3          ghcr.io/kubewarden/policy-server:v1.10.0"), std::string::npos)
      << out.out;
}

// --- CRD admission through the API server -----------------------------------------------------

class CrdAdmissionTest : public CrdTest {
 protected:
  void SetUp() override {
    CrdTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    startServer();
    if (HasFatalFailure()) return;
    registerWebhooks();
  }

  void TearDown() override {
    // Cluster-wide objects: remove them even when the test failed.
    for (const auto& path : configs_) (void)admin_->request("DELETE", path);
    if (server_) server_->stop();
    CrdTest::TearDown();
  }

  void startServer() {
    std::string error;
    ASSERT_TRUE(cluster::makeServingPki(dir_ / "pki", {}, pki_, error)) << error;
    ca_pem_ = readTextFile(pki_.ca_cert).value();
    controller::AdmissionServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.cert_file = pki_.cert.string();
    options.key_file = pki_.key.string();
    controller::CrdAdmissionContext context;
    context.options.deployments_namespace = ns_;
    context.options.default_policy_server = "reserved-" + ns_;
    context.secret_type = controller::kubeSecretTypeLookup(admin_);
    server_ = std::make_unique<controller::AdmissionServer>(options, context);
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  // Both configurations, scoped to objects carrying this test's label; then wait until the API
  // server calls them: a labelled dry-run create comes back defaulted (mutating) and a policy
  // without rules is refused by our text (validating).
  void registerWebhooks() {
    controller::CrdWebhookTarget target;
    target.url_base = "https://127.0.0.1:" + std::to_string(server_->port());
    target.ca_pem = ca_pem_;
    controller::CrdWebhookOptions options;
    options.mutating_name = "kw-crd-test-" + ns_ + "-m";
    options.validating_name = "kw-crd-test-" + ns_ + "-v";
    options.object_selector = {{"matchLabels", {{kTestLabel, ns_}}}};
    post("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
         controller::crdMutatingWebhookConfiguration(target, options));
    configs_.push_back("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" +
                       options.mutating_name);
    post("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
         controller::crdValidatingWebhookConfiguration(target, options));
    configs_.push_back("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/" +
                       options.validating_name);

    std::string last;
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(waitFor(
        [&] {
          auto defaulted = send("POST", capPath(), cap("probe-m-" + ns_), true);
          json body = json::parse(defaulted.body, nullptr, false);
          last = defaulted.body;
          if (defaulted.status != 201 || !body.contains("metadata")) return false;
          if (!body["metadata"].contains("finalizers")) return false;
          json empty = cap("probe-v-" + ns_);
          empty["spec"]["rules"] = json::array();
          auto refused = send("POST", capPath(), empty, true);
          last = refused.body;
          return refused.status == 422 &&
                 refused.message.find("vclusteradmissionpolicy.kb.io") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << "webhooks not in force after 60 s; last: " << last;
    std::printf("CRD webhooks in force after %.2f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  void post(const std::string& path, const json& body) {
    auto reply = admin_->request("POST", path, body.dump(), "application/json");
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    ASSERT_EQ(reply->status, 201) << path << ": " << reply->body;
  }

  struct Sent {
    long status = 0;
    std::string body, message;
    json object;
  };
  Sent send(const std::string& method, const std::string& path, const json& body,
            bool dry_run = false, const std::string& content_type = "application/json") {
    auto reply =
        admin_->request(method, path + (dry_run ? "?dryRun=All" : ""), body.dump(), content_type);
    Sent sent;
    if (!reply.ok()) {
      sent.message = reply.error().message;
      return sent;
    }
    sent.status = reply->status;
    sent.body = reply->body;
    sent.message = statusMessage(reply->body);
    sent.object = json::parse(reply->body, nullptr, false);
    return sent;
  }

  static std::string capPath(const std::string& version = "v1") {
    return std::string(kGroupPath) + "/" + version + "/clusteradmissionpolicies";
  }
  std::string apPath(const std::string& name = "") const {
    return std::string(kGroupPath) + "/v1/namespaces/" + ns_ + "/admissionpolicies" +
           (name.empty() ? "" : "/" + name);
  }
  static std::string psPath() { return std::string(kGroupPath) + "/v1/policyservers"; }

  json labelled(const std::string& name) const {
    return {{"name", name}, {"labels", {{kTestLabel, ns_}}}};
  }

  json policySpec() const {
    return {{"policyServer", "absent-" + ns_},
            {"module", "registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.5"},
            {"mutating", false},
            {"rules",
             {{{"apiGroups", {""}},
               {"apiVersions", {"v1"}},
               {"resources", {"configmaps"}},
               {"operations", {"CREATE"}}}}}};
  }
  json cap(const std::string& name, const std::string& version = "v1") const {
    return {{"apiVersion", "policies.kubewarden.io/" + version},
            {"kind", "ClusterAdmissionPolicy"},
            {"metadata", labelled(name)},
            {"spec", policySpec()}};
  }
  json ap(const std::string& name) const {
    return {{"apiVersion", "policies.kubewarden.io/v1"},
            {"kind", "AdmissionPolicy"},
            {"metadata", labelled(name)},
            {"spec", policySpec()}};
  }
  json ps(const std::string& name, json spec = json::object()) const {
    json full = {{"image", "ghcr.io/kubewarden/policy-server:v1.10.0"}, {"replicas", 1}};
    full.update(spec);
    return {{"apiVersion", "policies.kubewarden.io/v1"},
            {"kind", "PolicyServer"},
            {"metadata", labelled(name)},
            {"spec", full}};
  }

  std::string denial(const std::string& webhook, const std::string& kind, const std::string& name,
                     const std::string& errors) const {
    return "admission webhook \"" + webhook + "\" denied the request: " + kind +
           ".policies.kubewarden.io \"" + name + "\" is invalid: " + errors;
  }

  cluster::ServingPki pki_;
  std::string ca_pem_;
  std::unique_ptr<controller::AdmissionServer> server_;
  std::vector<std::string> configs_;
};

TEST_F(CrdAdmissionTest, DefaultingAddsTheFinalizerAndTheDefaultPolicyServer) {
  // policyServer "" (the schema's default only fills a missing field): the flag's value.
  json policy = cap("defaulted-" + ns_);
  policy["spec"]["policyServer"] = "";
  Sent created = send("POST", capPath(), policy, true);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.object["metadata"]["finalizers"], json({"kubewarden"}));
  EXPECT_EQ(created.object["spec"]["policyServer"], "reserved-" + ns_);
  EXPECT_EQ(created.object["spec"]["mode"], "protect");

  // Through v1alpha2 too (the webhooks match v1 and get the request converted).
  json legacy = cap("legacy-" + ns_, "v1alpha2");
  legacy["spec"]["policyServer"] = "";
  created = send("POST", capPath("v1alpha2"), legacy, true);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.object["apiVersion"], "policies.kubewarden.io/v1alpha2");
  EXPECT_EQ(created.object["metadata"]["finalizers"], json({"kubewarden"}));
  EXPECT_EQ(created.object["spec"]["policyServer"], "reserved-" + ns_);

  created = send("POST", psPath(), ps("defaulted-" + suffix()), true);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.object["metadata"]["finalizers"], json({"kubewarden"}));

  // A stored AdmissionPolicy keeps the finalizer until someone removes it; removing it while
  // the object is being deleted is not undone by the defaulting webhook.
  Sent stored = send("POST", apPath(), ap("finalized"));
  ASSERT_EQ(stored.status, 201) << stored.body;
  EXPECT_EQ(stored.object["metadata"]["finalizers"], json({"kubewarden"}));
  Sent deleting = send("DELETE", apPath("finalized"), json::object());
  ASSERT_EQ(deleting.status, 200) << deleting.body;
  EXPECT_TRUE(deleting.object["metadata"].contains("deletionTimestamp")) << deleting.body;
  Sent released = send("PATCH", apPath("finalized"), {{"metadata", {{"finalizers", nullptr}}}},
                       false, "application/merge-patch+json");
  EXPECT_EQ(released.status, 200) << released.body;
  EXPECT_TRUE(waitFor([&] {
    auto reply = admin_->request("GET", apPath("finalized"));
    return reply.ok() && reply->status == 404;
  })) << "the AdmissionPolicy is still there after its finalizer was removed";
}

TEST_F(CrdAdmissionTest, PolicyUpdatesKeepThePolicyServerAndNeverGoFromProtectToMonitor) {
  Sent stored = send("POST", apPath(), ap("updates"));
  ASSERT_EQ(stored.status, 201) << stored.body;
  const std::string name = "updates";
  auto patch = [&](const json& spec_change) {
    return send("PATCH", apPath(name), {{"spec", spec_change}}, true,
                "application/merge-patch+json");
  };

  Sent monitor = patch({{"mode", "monitor"}});
  EXPECT_EQ(monitor.status, 422) << monitor.body;
  EXPECT_EQ(monitor.message,
            denial("vadmissionpolicy.kb.io", "AdmissionPolicy", name,
                   "spec.mode: Forbidden: field cannot transition from protect to monitor. "
                   "Recreate instead."));

  Sent moved = patch({{"policyServer", "elsewhere"}});
  EXPECT_EQ(moved.status, 422) << moved.body;
  EXPECT_EQ(moved.message, denial("vadmissionpolicy.kb.io", "AdmissionPolicy", name,
                                  "spec.policyServer: Forbidden: the field is immutable"));

  // kubectl users read the same text.
  json edited = ap(name);
  edited["spec"]["mode"] = "monitor";
  CommandResult out =
      kubectl("apply -n " + ns_ + " -f " + writeManifest("monitor.json", edited).string());
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.out.find("field cannot transition from protect to monitor. Recreate instead."),
            std::string::npos)
      << out.out;

  Sent allowed = patch({{"timeoutSeconds", 30}});
  EXPECT_EQ(allowed.status, 200) << allowed.body;

  // Clean up: delete, then drop the finalizer nobody else removes here.
  (void)send("DELETE", apPath(name), json::object());
  (void)send("PATCH", apPath(name), {{"metadata", {{"finalizers", nullptr}}}}, false,
             "application/merge-patch+json");
}

TEST_F(CrdAdmissionTest, PolicyRulesAndTimeoutAreValidated) {
  json empty = cap("empty-rules-" + ns_);
  empty["spec"]["rules"] = json::array();
  Sent refused = send("POST", capPath(), empty, true);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.message,
            denial("vclusteradmissionpolicy.kb.io", "ClusterAdmissionPolicy", "empty-rules-" + ns_,
                   "spec.rules: Required value: a value must be specified"));

  json blank = ap("blank-resource");
  blank["spec"]["rules"][0]["resources"] = {"pods", ""};
  refused = send("POST", apPath(), blank, true);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.message,
            denial("vadmissionpolicy.kb.io", "AdmissionPolicy", "blank-resource",
                   "spec.rules.rule.resources: Invalid value: \"\": rule.resources value cannot "
                   "contain the empty string"));

  json slow = cap("slow-" + ns_);
  slow["spec"]["timeoutSeconds"] = 31;
  refused = send("POST", capPath(), slow, true);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.message,
            denial("vclusteradmissionpolicy.kb.io", "ClusterAdmissionPolicy", "slow-" + ns_,
                   "spec.timeoutSeconds: Invalid value: 31: the timeout value must be between 1 "
                   "and 30 seconds"));

  slow["spec"]["timeoutSeconds"] = 30;
  EXPECT_EQ(send("POST", capPath(), slow, true).status, 201);
}

TEST_F(CrdAdmissionTest, PolicyServerPullSecretAndDisruptionBudgetAreValidated) {
  // Secrets in the deployments namespace (this test's).
  json pull = {{"apiVersion", "v1"},
               {"kind", "Secret"},
               {"metadata", {{"name", "regcred"}}},
               {"type", "kubernetes.io/dockerconfigjson"},
               {"data", {{".dockerconfigjson", base64Encode(R"({"auths":{}})")}}}};
  create("/api/v1/namespaces/" + ns_ + "/secrets", pull);
  json opaque = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "plain"}}},
                 {"stringData", {{"token", "x"}}}};
  create("/api/v1/namespaces/" + ns_ + "/secrets", opaque);

  const std::string name = "ps-" + suffix();
  EXPECT_EQ(send("POST", psPath(), ps(name, {{"imagePullSecret", "regcred"}}), true).status, 201);

  Sent missing = send("POST", psPath(), ps(name, {{"imagePullSecret", "absent"}}), true);
  EXPECT_EQ(missing.status, 422) << missing.body;
  EXPECT_EQ(missing.message, denial("vpolicyserver.kb.io", "PolicyServer", name,
                                    "spec.imagePullSecret: Invalid value: \"absent\": cannot get "
                                    "spec.ImagePullSecret: secrets \"absent\" not found"));

  Sent wrong_type = send("POST", psPath(), ps(name, {{"imagePullSecret", "plain"}}), true);
  EXPECT_EQ(wrong_type.status, 422) << wrong_type.body;
  EXPECT_EQ(wrong_type.message,
            denial("vpolicyserver.kb.io", "PolicyServer", name,
                   "spec.imagePullSecret: Invalid value: \"plain\": spec.ImagePullSecret secret "
                   "\"plain\" is not of type kubernetes.io/dockerconfigjson"));

  Sent both =
      send("POST", psPath(), ps(name, {{"minAvailable", 1}, {"maxUnavailable", "50%"}}), true);
  EXPECT_EQ(both.status, 422) << both.body;
  EXPECT_EQ(both.message, denial("vpolicyserver.kb.io", "PolicyServer", name,
                                 "spec: Invalid value: \"minAvailable: 1, maxUnavailable: 50%\": "
                                 "minAvailable and maxUnavailable cannot be both set"));
  EXPECT_EQ(send("POST", psPath(), ps(name, {{"maxUnavailable", "50%"}}), true).status, 201);
}

}  // namespace
}  // namespace kw::test
