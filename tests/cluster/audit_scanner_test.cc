// The audit-scanner binary against the real kube-apiserver, end to end: our controller turns a
// PolicyServer and a privileged-pod ClusterAdmissionPolicy into a running policy-server (a Pod
// the kubelet stand-in runs) and an active policy; Pods, some privileged, wait in the test's
// namespace (created before the policy is active, so its webhook does not refuse them; they
// are only objects, no stand-in runs them). The scanner runs as a process with the cluster's
// kubeconfig, reaches the policy-server through its Service's EndpointSlice, and writes
// PolicyReports through the API or an SQLite file; a second scan reuses every result.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/controller_process.h"
#include "cluster/harness_process.h"
#include "support/cant_run.h"
#include "support/charts_lock.h"
#include "support/cluster_env.h"
#include "support/cluster_state.h"
#include "support/postgres_process.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kPolicies = "/apis/policies.kubewarden.io/v1/";
constexpr int kPods = 5;
constexpr int kPrivileged = 2;

struct Scan {
  int status = -1;
  std::string out;  // stdout: the reports with --output-scan
  std::string log;  // stderr: the log and the summary line
};

class AuditScannerCluster : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto error = env_.state.find(kClusterStandinError);
    if (env_.state.count(kClusterStandinPid) == 0 || error != env_.state.end())
      KW_CANT_RUN() << "policy-server Pods need the kubelet stand-in"
                    << (error != env_.state.end() ? ": " + error->second : "");
    // Held for the whole test: the Helm install test must not uninstall the CRDs meanwhile.
    charts_lock_ = std::make_unique<ChartsLock>(KW_CLUSTER_DIR, ChartsLock::Mode::kShared);
    ASSERT_TRUE(charts_lock_->held()) << "cannot lock " << KW_CLUSTER_DIR << "/charts.lock";
    applyCrds();
    if (HasFatalFailure()) return;
    // Short names: the serving certificate's CN (policy-server-<ps>.<ns>.svc) fits 64 chars.
    suffix_ = randomUid().substr(0, 8);
    deploy_ns_ = "kwa-" + suffix_;
    ps_ = "ps-" + suffix_;
    cap_ = "audit-" + suffix_;
    dir_ = fs::path(KW_CLUSTER_DIR) / "tests" / "audit" / ns_;
    fs::create_directories(dir_);
    auto made = createNamespace(*admin_, deploy_ns_);
    ASSERT_TRUE(made.ok()) << made.error().message;
  }
  void TearDown() override {
    // Delete the PolicyServer while the controller runs: its policy and Pod go with it.
    if (controller_) {
      std::string path = kPolicies + "policyservers/" + ps_;
      (void)admin_->request("DELETE", path);
      waitFor([&] { return !get(path); }, 30s);
    }
    controller_.reset();
  }

  std::string kubectl(const std::string& args) const {
    return (env_.tools / "kubectl").string() + " --kubeconfig " + env_.kubeconfig.string() + " " +
           args + " 2>&1";
  }
  // The chart's CRDs without Helm's `{{ }}` lines, applied server-side (idempotent when
  // several test processes do it), then waited on until served.
  void applyCrds() {
    for (std::string name : {"policyservers", "clusteradmissionpolicies", "admissionpolicies",
                             "policyreports", "clusterpolicyreports"}) {
      std::ifstream in(sourceDir() / "charts/kubewarden-crds/templates" / (name + ".yaml"));
      ASSERT_TRUE(in) << "cannot read the " << name << " CRD";
      std::ostringstream plain;
      for (std::string line; std::getline(in, line);)
        if (line.rfind("{{", 0) != 0) plain << line << "\n";
      fs::path file = fs::temp_directory_path() /
                      ("kw-audit-crd-" + name + "-" + std::to_string(::getpid()) + ".yaml");
      std::ofstream(file) << plain.str();
      auto applied =
          runCommand(kubectl("apply --server-side --force-conflicts -f " + file.string()));
      ASSERT_EQ(applied.status, 0) << applied.out;
      std::string group =
          name.find("reports") != std::string::npos ? ".wgpolicyk8s.io" : ".policies.kubewarden.io";
      auto ready =
          runCommand(kubectl("wait --for condition=established --timeout=60s crd/" + name + group));
      ASSERT_EQ(ready.status, 0) << ready.out;
    }
  }

  std::optional<json> get(const std::string& path) {
    auto reply = admin_->request("GET", path);
    if (!reply.ok() || reply->status != 200) return std::nullopt;
    return json::parse(reply->body);
  }
  std::string policyStatus() {
    auto p = get(kPolicies + "clusteradmissionpolicies/" + cap_);
    return p ? (*p).value("status", json::object()).value("policyStatus", "") : "<absent>";
  }

  json pod(const std::string& name, bool privileged) const {
    json container = {{"name", "app"}, {"image", "registry.example/app:1"}};
    if (privileged) container["securityContext"] = {{"privileged", true}};
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}}},
            {"spec", {{"containers", json::array({container})}}}};
  }

  // Pods first, then the PolicyServer and the policy, until the policy is active. The root
  // CA the controller made is written to ca.pem for --extra-ca.
  void deployPolicyAndPods(int replicas = 1, const json& spec_override = json::object()) {
    for (int i = 0; i < kPods; ++i)
      ASSERT_FALSE(create("/api/v1/namespaces/" + ns_ + "/pods",
                          pod("pod-" + std::to_string(i), i < kPrivileged))
                       .is_null());
    std::string selector = "kw-test=" + ns_;
    controller_ = std::make_unique<ControllerProcess>(env_, deploy_ns_, selector, "controller");
    json labels = {{"kw-test", ns_}};
    ASSERT_FALSE(
        create(kPolicies + "policyservers",
               {{"apiVersion", "policies.kubewarden.io/v1"},
                {"kind", "PolicyServer"},
                {"metadata", {{"name", ps_}, {"labels", labels}}},
                {"spec",
                 {{"image", "ghcr.io/kubewarden/policy-server:v1.10.0"}, {"replicas", replicas}}}})
            .is_null());
    std::string module = "file://" + (guestDir() / "annotated" / "pod_privileged.wasm").string();
    json cap = {{"apiVersion", "policies.kubewarden.io/v1"},
                {"kind", "ClusterAdmissionPolicy"},
                {"metadata",
                 {{"name", cap_},
                  {"labels", labels},
                  {"annotations", {{"io.kubewarden.policy.severity", "high"}}}}},
                {"spec",
                 {{"policyServer", ps_},
                  {"module", module},
                  {"mutating", false},
                  {"namespaceSelector", {{"matchLabels", {{"kubernetes.io/metadata.name", ns_}}}}},
                  {"rules", json::array({{{"apiGroups", {""}},
                                          {"apiVersions", {"v1"}},
                                          {"resources", {"pods"}},
                                          {"operations", {"CREATE", "UPDATE"}}}})}}}};
    cap["spec"].update(spec_override);
    ASSERT_FALSE(create(kPolicies + "clusteradmissionpolicies", cap).is_null());
    ASSERT_TRUE(waitFor([&] { return policyStatus() == "active"; }, 120s)) << controller_->log();
    auto root = get("/api/v1/namespaces/" + deploy_ns_ + "/secrets/policy-server-root-ca");
    ASSERT_TRUE(root);
    ca_ = dir_ / "ca.pem";
    std::ofstream(ca_) << base64Decode((*root)["data"]["policy-server-root-ca-pem"]);
  }

  Scan scan(std::vector<std::string> extra, bool only_test_namespace = true) {
    static int n = 0;
    fs::path log = dir_ / ("scan-" + std::to_string(++n) + ".log");
    std::string cmd = (binDir() / "audit-scanner").string() + " --kubeconfig " +
                      env_.kubeconfig.string() + (only_test_namespace ? " -n " + ns_ : "") +
                      " -k " + deploy_ns_ + " --loglevel debug";
    for (const std::string& e : extra) cmd += " " + e;
    auto r = runCommand(cmd + " 2>" + log.string());
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return {r.status, r.out, text.str()};
  }

  // "<n> <word>" from the summary line, e.g. count(log, "evaluations"); -1 when absent.
  static long count(const std::string& log, const std::string& word) {
    std::smatch m;
    if (!std::regex_search(log, m, std::regex("(\\d+) " + word + "[,;]"))) return -1;
    return std::stol(m[1]);
  }

  // How many /audit requests each policy-server Pod of this test logged (by log file), read
  // from the Pods' logs the kubelet stand-in keeps: what the servers saw, not what we claim.
  std::map<std::string, int> auditRequestsPerPod() {
    std::map<std::string, int> out;
    fs::path logs = fs::path(env_.state[kClusterStandinDir]) / "logs";
    for (const auto& entry : fs::directory_iterator(logs)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(deploy_ns_ + "_", 0) != 0) continue;
      std::ifstream in(entry.path());
      int n = 0;
      for (std::string line; std::getline(in, line);)
        if (line.find("] audit request_uid=") != std::string::npos &&
            line.find("policy_id=\"clusterwide-" + cap_ + "\"") != std::string::npos)
          ++n;
      out[name] = n;
    }
    return out;
  }
  static int total(const std::map<std::string, int>& counts) {
    int sum = 0;
    for (const auto& [pod, n] : counts) sum += n;
    return sum;
  }

  json report() {
    auto r =
        get("/apis/wgpolicyk8s.io/v1beta1/namespaces/" + ns_ + "/policyreports/polr-ns-" + ns_);
    return r ? *r : json();
  }

  std::unique_ptr<ChartsLock> charts_lock_;
  std::unique_ptr<ControllerProcess> controller_;
  std::string suffix_, deploy_ns_, ps_, cap_;
  fs::path dir_, ca_;
};

TEST_F(AuditScannerCluster, ScanWritesTheNamespaceReportAndReusesItNextTime) {
  deployPolicyAndPods();
  if (HasFatalFailure()) return;
  Scan first = scan({"--extra-ca", ca_.string()});
  ASSERT_EQ(first.status, 0) << first.log;
  EXPECT_NE(first.log.find("1 ready endpoints"), std::string::npos)
      << "the policy-server is reached through its EndpointSlice\n"
      << first.log;
  EXPECT_EQ(count(first.log, "evaluations"), kPods) << first.log;
  EXPECT_EQ(count(first.log, "reused"), 0) << first.log;

  json polr = report();
  ASSERT_FALSE(polr.is_null()) << first.log;
  // skip counts policies that are not auditable: other tests' may exist, so it is not checked.
  EXPECT_EQ(polr["summary"]["pass"], kPods - kPrivileged) << polr["summary"];
  EXPECT_EQ(polr["summary"]["fail"], kPrivileged) << polr["summary"];
  EXPECT_EQ(polr["summary"]["error"], 0) << polr["summary"];
  EXPECT_EQ(polr["summary"]["warn"], 0) << polr["summary"];
  EXPECT_EQ(polr["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kubewarden");
  EXPECT_EQ(polr["scope"]["kind"], "Namespace");
  EXPECT_EQ(polr["scope"]["name"], ns_);
  ASSERT_EQ(polr["results"].size(), static_cast<size_t>(kPods));
  int failed = 0;
  for (const json& r : polr["results"]) {
    EXPECT_EQ(r["policy"], "cap-" + cap_);
    EXPECT_EQ(r["severity"], "high");
    EXPECT_EQ(r["resources"][0]["kind"], "Pod");
    if (r["result"] == "fail") {
      ++failed;
      EXPECT_EQ(r["message"], "Privileged container is not allowed") << r.dump();
      std::string name = r["resources"][0]["name"];
      EXPECT_TRUE(name == "pod-0" || name == "pod-1") << name;
    }
  }
  EXPECT_EQ(failed, kPrivileged);
  auto shown = runCommand(kubectl("get polr -n " + ns_ + " --no-headers"));
  EXPECT_NE(shown.out.find("polr-ns-" + ns_), std::string::npos) << shown.out;

  // Nothing changed: every result is reused, no request reaches the policy-server.
  Scan second = scan({"--extra-ca", ca_.string()});
  ASSERT_EQ(second.status, 0) << second.log;
  EXPECT_EQ(count(second.log, "evaluations"), 0) << second.log;
  EXPECT_EQ(count(second.log, "reused"), kPods) << second.log;
  EXPECT_EQ(report()["summary"], polr["summary"]);

  // A changed Pod is evaluated again, alone.
  json patch = {{"metadata", {{"labels", {{"touched", "yes"}}}}}};
  auto patched = admin_->request("PATCH", "/api/v1/namespaces/" + ns_ + "/pods/pod-2", patch.dump(),
                                 "application/merge-patch+json");
  ASSERT_TRUE(patched.ok() && patched->status == 200);
  Scan third = scan({"--extra-ca", ca_.string()});
  ASSERT_EQ(third.status, 0) << third.log;
  EXPECT_EQ(count(third.log, "evaluations"), 1) << third.log;
  EXPECT_EQ(count(third.log, "reused"), kPods - 1) << third.log;
  // The policy-server saw exactly the evaluations the summaries claim: 5, 0, then 1.
  EXPECT_EQ(total(auditRequestsPerPod()), kPods + 1);
}

TEST_F(AuditScannerCluster, DeletedPodsResultIsDroppedFromTheReport) {
  deployPolicyAndPods();
  if (HasFatalFailure()) return;
  ASSERT_EQ(scan({"--extra-ca", ca_.string()}).status, 0);
  ASSERT_EQ(report()["summary"]["fail"], kPrivileged);
  auto deleted = admin_->request("DELETE", "/api/v1/namespaces/" + ns_ + "/pods/pod-0");
  ASSERT_TRUE(deleted.ok() && deleted->status == 200);
  ASSERT_TRUE(waitFor([&] { return !get("/api/v1/namespaces/" + ns_ + "/pods/pod-0"); }));
  Scan again = scan({"--extra-ca", ca_.string()});
  ASSERT_EQ(again.status, 0) << again.log;
  EXPECT_EQ(count(again.log, "evaluations"), 0) << again.log;
  json polr = report();
  EXPECT_EQ(polr["summary"]["fail"], kPrivileged - 1);
  EXPECT_EQ(polr["summary"]["pass"], kPods - kPrivileged);
  for (const json& r : polr["results"]) EXPECT_NE(r["resources"][0]["name"], "pod-0");
}

TEST_F(AuditScannerCluster, PerResourceReportsAreOwnedByTheirPods) {
  deployPolicyAndPods();
  if (HasFatalFailure()) return;
  Scan s = scan({"--extra-ca", ca_.string(), "--report-granularity", "resource"});
  ASSERT_EQ(s.status, 0) << s.log;
  auto list = get("/apis/wgpolicyk8s.io/v1beta1/namespaces/" + ns_ + "/policyreports");
  ASSERT_TRUE(list);
  int fails = 0, reports = 0;
  for (const json& polr : (*list)["items"]) {
    if (!polr["metadata"]["labels"].contains("kubewarden.io/policyreport-version")) continue;
    ++reports;
    EXPECT_EQ(polr["metadata"]["labels"]["kubewarden.io/policyreport-version"], "v2");
    const json& owner = polr["metadata"]["ownerReferences"][0];
    EXPECT_EQ(owner["kind"], "Pod");
    EXPECT_EQ(owner["uid"], polr["metadata"]["name"]) << "named by the Pod's UID";
    EXPECT_EQ(polr["results"].size(), 1u);
    fails += polr["summary"]["fail"].get<int>();
  }
  EXPECT_EQ(reports, kPods);
  EXPECT_EQ(fails, kPrivileged);
  // Reuse works per resource too.
  Scan again = scan({"--extra-ca", ca_.string(), "--report-granularity", "resource"});
  ASSERT_EQ(again.status, 0) << again.log;
  EXPECT_EQ(count(again.log, "evaluations"), 0) << again.log;
  EXPECT_EQ(count(again.log, "reused"), kPods) << again.log;
}

TEST_F(AuditScannerCluster, RequestsAreSpreadOverEveryReadyReplica) {
  deployPolicyAndPods(2);
  if (HasFatalFailure()) return;
  // Both Pods ready in the Service's EndpointSlice.
  std::string slices =
      "/apis/discovery.k8s.io/v1/namespaces/" + deploy_ns_ +
      "/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dpolicy-server-" + ps_;
  ASSERT_TRUE(waitFor(
      [&] {
        auto list = get(slices);
        int ready = 0;
        if (list)
          for (const json& slice : (*list)["items"])
            for (const json& ep : slice.value("endpoints", json::array()))
              if (ep.value("conditions", json::object()).value("ready", false)) ++ready;
        return ready == 2;
      },
      60s))
      << "the EndpointSlice never listed 2 ready Pods";
  Scan s = scan({"--extra-ca", ca_.string(), "--store", "memory"});
  ASSERT_EQ(s.status, 0) << s.log;
  EXPECT_NE(s.log.find("2 ready endpoints"), std::string::npos) << s.log;
  auto per_pod = auditRequestsPerPod();
  ASSERT_EQ(per_pod.size(), 2u);
  EXPECT_EQ(total(per_pod), kPods);
  for (const auto& [pod, n] : per_pod) EXPECT_GE(n, kPods / 2) << pod << " got too few requests";
}

TEST_F(AuditScannerCluster, SqliteStoreCountsThroughTheDocumentedViews) {
  deployPolicyAndPods();
  if (HasFatalFailure()) return;
  fs::path db = dir_ / "reports.db";
  Scan first = scan({"--extra-ca", ca_.string(), "--store", "sqlite", "--store-path", db.string()});
  ASSERT_EQ(first.status, 0) << first.log;
  EXPECT_EQ(count(first.log, "evaluations"), kPods) << first.log;
  auto counts = runCommand("sqlite3 " + db.string() +
                           " \"SELECT pass, fail, error, total FROM namespace_summary WHERE "
                           "namespace = '" +
                           ns_ + "'\" 2>&1");
  ASSERT_EQ(counts.status, 0) << counts.out;
  EXPECT_EQ(counts.out, std::to_string(kPods - kPrivileged) + "|" + std::to_string(kPrivileged) +
                            "|0|" + std::to_string(kPods) + "\n");
  auto per_policy =
      runCommand("sqlite3 " + db.string() + " \"SELECT fail FROM policy_summary WHERE rule = '" +
                 cap_ + "'\" 2>&1");
  EXPECT_EQ(per_policy.out, std::to_string(kPrivileged) + "\n");
  EXPECT_TRUE(report().is_null()) << "the sqlite store writes no PolicyReport object";

  Scan second =
      scan({"--extra-ca", ca_.string(), "--store", "sqlite", "--store-path", db.string()});
  ASSERT_EQ(second.status, 0) << second.log;
  EXPECT_EQ(count(second.log, "evaluations"), 0) << second.log;
  EXPECT_EQ(count(second.log, "reused"), kPods) << second.log;
}

TEST_F(AuditScannerCluster, PostgresStoreCountsThroughTheDocumentedViews) {
  PostgresProcess* pg = sharedPostgres();
  if (!pg) KW_CANT_RUN() << PostgresProcess::unavailableReason();
  ASSERT_TRUE(pg->ready()) << pg->error();
  std::string url = pg->createDatabase("audit_" + suffix_);
  ASSERT_FALSE(url.empty()) << pg->error();
  deployPolicyAndPods();
  if (HasFatalFailure()) return;
  std::vector<std::string> flags = {"--extra-ca", ca_.string(),  "--store",
                                    "postgres",   "--store-url", "'" + url + "'"};
  Scan first = scan(flags);
  ASSERT_EQ(first.status, 0) << first.log;
  EXPECT_EQ(count(first.log, "evaluations"), kPods) << first.log;
  auto counts = runCommand("psql '" + url +
                           "' -Atc \"SELECT pass, fail, error, total FROM "
                           "namespace_summary WHERE namespace = '" +
                           ns_ + "'\" 2>&1");
  ASSERT_EQ(counts.status, 0) << counts.out;
  EXPECT_EQ(counts.out, std::to_string(kPods - kPrivileged) + "|" + std::to_string(kPrivileged) +
                            "|0|" + std::to_string(kPods) + "\n");
  Scan second = scan(flags);
  ASSERT_EQ(second.status, 0) << second.log;
  EXPECT_EQ(count(second.log, "evaluations"), 0) << second.log;
  EXPECT_EQ(count(second.log, "reused"), kPods) << second.log;
}

TEST_F(AuditScannerCluster, ClusterScopedResourcesGoToTheClusterReport) {
  // A policy on Namespaces, narrowed by objectSelector to this test's namespace (the cluster is
  // shared). The memory store keeps other tests' cluster-wide reports out of reach.
  json patch = {{"metadata", {{"labels", {{"kw-audit", ns_}}}}}};
  auto labelled = admin_->request("PATCH", "/api/v1/namespaces/" + ns_, patch.dump(),
                                  "application/merge-patch+json");
  ASSERT_TRUE(labelled.ok() && labelled->status == 200);
  deployPolicyAndPods(1, {{"rules", json::array({{{"apiGroups", {""}},
                                                  {"apiVersions", {"v1"}},
                                                  {"resources", {"namespaces"}},
                                                  {"operations", {"CREATE"}}}})},
                          {"objectSelector", {{"matchLabels", {{"kw-audit", ns_}}}}}});
  if (HasFatalFailure()) return;
  Scan s =
      scan({"--cluster", "--extra-ca", ca_.string(), "--store", "memory", "--output-scan"}, false);
  ASSERT_EQ(s.status, 0) << s.log;
  EXPECT_EQ(count(s.log, "namespaces"), 0) << "--cluster scans no namespace\n" << s.log;
  json cpolr = json::parse(s.out, nullptr, false);
  ASSERT_TRUE(cpolr.is_object()) << s.out;
  EXPECT_EQ(cpolr["kind"], "ClusterPolicyReport");
  EXPECT_EQ(cpolr["metadata"]["name"], "polr-clusterwide");
  std::vector<json> ours;
  for (const json& r : cpolr["results"])
    if (r["policy"] == "cap-" + cap_) ours.push_back(r);
  ASSERT_EQ(ours.size(), 1u) << cpolr.dump();
  EXPECT_EQ(ours[0]["resources"][0]["kind"], "Namespace");
  EXPECT_EQ(ours[0]["resources"][0]["name"], ns_);
  EXPECT_EQ(ours[0]["result"], "pass");
}

TEST_F(AuditScannerCluster, UnreachablePolicyServerGivesErrorResultsAndExitCode2) {
  deployPolicyAndPods();
  if (HasFatalFailure()) return;
  // Nothing listens on port 1: every request fails, the scan goes on and says so.
  Scan s =
      scan({"--policy-server-url", "https://127.0.0.1:1", "--store", "memory", "--output-scan"});
  EXPECT_EQ(s.status, 2) << s.log;
  EXPECT_NE(s.log.find("error " + std::to_string(kPods)), std::string::npos) << s.log;
  json polr = json::parse(s.out, nullptr, false);
  ASSERT_TRUE(polr.is_object()) << s.out;
  EXPECT_EQ(polr["metadata"]["name"], "polr-ns-" + ns_);
  EXPECT_EQ(polr["summary"]["error"], kPods);
  EXPECT_EQ(polr["results"][0]["result"], "error");
  EXPECT_NE(polr["results"][0]["message"].get<std::string>().find("127.0.0.1:1"), std::string::npos)
      << polr["results"][0].dump();
}

}  // namespace
}  // namespace kw::test
