// The Kubernetes report store (src/reports/kubernetes_store.*) against the real kube-apiserver,
// with our wgpolicyk8s.io CRDs (charts/kubewarden-crds/templates/) applied by kubectl: reports
// round-trip through the v1beta1 storage version without losing a field, kubectl shows them, a
// 409 is retried from the fresh object (keeping the other writer's change), retries are
// bounded, and stale reports of older runs are deleted within the scope asked for.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/kubernetes_store.h"
#include "support/charts_lock.h"
#include "support/cluster_env.h"
#include "support/report_samples.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace kw::reports;
using namespace kw::test::samples;

class ReportsStoreReal : public ClusterTest {
 protected:
  std::unique_ptr<ChartsLock> charts_lock_;
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Held for the whole test: the Helm install test must not uninstall the CRDs meanwhile.
    charts_lock_ = std::make_unique<ChartsLock>(KW_CLUSTER_DIR, ChartsLock::Mode::kShared);
    ASSERT_TRUE(charts_lock_->held()) << "cannot lock " << KW_CLUSTER_DIR << "/charts.lock";
    applyCrds();
  }

  std::string kubectl(const std::string& args) {
    return (env_.tools / "kubectl").string() + " --kubeconfig " + env_.kubeconfig.string() + " " +
           args + " 2>&1";
  }

  // The chart's files without Helm's `{{ }}` lines, applied server-side (idempotent, and safe
  // when several test processes do it at once), then waited on until served.
  void applyCrds() {
    for (const char* name : {"policyreports", "clusterpolicyreports"}) {
      fs::path src =
          sourceDir() / "charts/kubewarden-crds/templates" / (std::string(name) + ".yaml");
      std::ifstream in(src);
      ASSERT_TRUE(in) << "cannot read " << src;
      std::ostringstream plain;
      for (std::string line; std::getline(in, line);)
        if (line.rfind("{{", 0) != 0) plain << line << "\n";
      fs::path out = fs::temp_directory_path() /
                     ("kw-crd-" + std::string(name) + "-" + std::to_string(::getpid()) + ".yaml");
      std::ofstream(out) << plain.str();
      auto applied =
          runCommand(kubectl("apply --server-side --force-conflicts -f " + out.string()));
      ASSERT_EQ(applied.status, 0) << applied.out;
      auto ready = runCommand(kubectl("wait --for condition=established --timeout=60s crd/" +
                                      std::string(name) + ".wgpolicyk8s.io"));
      ASSERT_EQ(ready.status, 0) << ready.out;
    }
  }

  json getRaw(const std::string& version, const std::string& ns, const std::string& name) {
    std::string path =
        "/apis/wgpolicyk8s.io/" + version +
        (ns.empty() ? "/clusterpolicyreports/" : "/namespaces/" + ns + "/policyreports/") + name;
    auto reply = admin_->request("GET", path);
    EXPECT_TRUE(reply.ok() && reply->status == 200)
        << (reply.ok() ? reply->body : reply.error().message);
    return reply.ok() && reply->status == 200 ? json::parse(reply->body) : json();
  }

  // Another writer: adds a label to the stored report (GET + PUT with its resourceVersion).
  void touchAsOtherWriter(const std::string& ns, const std::string& name,
                          const std::string& value) {
    json obj = getRaw("v1alpha2", ns, name);
    obj["metadata"]["labels"]["other-writer"] = value;
    auto reply = admin_->request("PUT", reportPath(ns, name), obj.dump(), "application/json");
    ASSERT_TRUE(reply.ok() && reply->status == 200)
        << (reply.ok() ? reply->body : reply.error().message);
  }
};

TEST_F(ReportsStoreReal, NamespaceReportRoundTripsAndKubectlShowsIt) {
  KubernetesStore store(admin_);
  ASSERT_TRUE(store.beginRun("run-1").ok());
  PolicyReport report = sampleNamespaceReport(ns_, "run-1", 3, 2);
  ASSERT_TRUE(store.saveNamespaceReport(report).ok());
  ASSERT_TRUE(store.commitRun().ok());

  auto got = store.getNamespaceReport(ns_);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  expectSameReport(**got, report);
  EXPECT_FALSE((*got)->resource_version.empty());

  // Stored as v1beta1: read through it, every key the scanner wrote is still there.
  json stored = getRaw("v1beta1", ns_, "polr-ns-" + ns_);
  ASSERT_TRUE(stored.is_object());
  EXPECT_EQ(stored["results"][0], toJson(report.results[0]));
  EXPECT_EQ(stored["summary"],
            json({{"pass", 3}, {"fail", 3}, {"warn", 0}, {"error", 0}, {"skip", 1}}));
  EXPECT_EQ(stored["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kubewarden");

  auto shown = runCommand(kubectl("get polr -n " + ns_ + " --no-headers"));
  ASSERT_EQ(shown.status, 0) << shown.out;
  // NAME PASS FAIL WARN ERROR SKIP AGE (the printer columns of the CRD)
  EXPECT_EQ(shown.out.rfind("polr-ns-" + ns_, 0), 0u) << shown.out;
  std::istringstream cols(shown.out);
  std::string name, pass, fail, warn, error, skip;
  cols >> name >> pass >> fail >> warn >> error >> skip;
  EXPECT_EQ(std::vector<std::string>({pass, fail, warn, error, skip}),
            std::vector<std::string>({"3", "3", "0", "0", "1"}))
      << shown.out;
}

TEST_F(ReportsStoreReal, ClusterAndPerResourceReports) {
  KubernetesStore store(admin_);
  ASSERT_TRUE(store.beginRun("run-c").ok());
  PolicyReport cluster = sampleClusterReport("run-c", 3);
  ASSERT_TRUE(store.saveClusterReport(cluster).ok());
  auto got = store.getClusterReport();
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  expectSameReport(**got, cluster);
  auto cpolr = runCommand(kubectl("get cpolr polr-clusterwide -o name"));
  EXPECT_EQ(cpolr.out, "clusterpolicyreport.wgpolicyk8s.io/polr-clusterwide\n");

  // 1.11 granularity: the report of a real ConfigMap, named by its UID and owned by it.
  json cm = putConfigMap("subject");
  ObjectRef subject{"v1",      "ConfigMap",           ns_,
                    "subject", cm["metadata"]["uid"], cm["metadata"]["resourceVersion"]};
  PolicyReport per = sampleResourceReport(subject, "run-c");
  ASSERT_TRUE(store.saveResourceReport(per).ok());
  auto back = store.getResourceReport(ns_, subject.uid);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->has_value());
  expectSameReport(**back, per);
  json raw = getRaw("v1alpha2", ns_, subject.uid);
  EXPECT_EQ(raw["metadata"]["ownerReferences"][0]["uid"], subject.uid);
  EXPECT_EQ(raw["metadata"]["labels"]["kubewarden.io/policyreport-version"], "v2");
  ASSERT_TRUE(store.commitRun().ok());
}

TEST_F(ReportsStoreReal, ConflictIsRetriedFromTheFreshObject) {
  {
    KubernetesStore first(admin_);
    ASSERT_TRUE(first.saveNamespaceReport(sampleNamespaceReport(ns_, "run-1", 1, 1)).ok());
  }
  // Between our read and our write another writer changes the report: our PUT carries a stale
  // resourceVersion and gets 409; the store reads again and writes over the fresh object.
  std::vector<int> attempts;
  KubernetesStore::Options options;
  options.before_write = [&](const std::string& ns, const std::string& name, int attempt) {
    attempts.push_back(attempt);
    if (attempt == 1) touchAsOtherWriter(ns, name, "was-here");
  };
  KubernetesStore store(admin_, options);
  PolicyReport update = sampleNamespaceReport(ns_, "run-2", 4, 2);
  auto saved = store.saveNamespaceReport(update);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(attempts, (std::vector<int>{1, 2}));
  json stored = getRaw("v1alpha2", ns_, "polr-ns-" + ns_);
  EXPECT_EQ(stored["metadata"]["labels"]["other-writer"], "was-here");  // their change stays
  EXPECT_EQ(stored["results"].size(), 8u);                              // ours is in
  EXPECT_EQ(stored["summary"]["fail"], 4);
}

TEST_F(ReportsStoreReal, CreateRaceIsRetriedAsAnUpdate) {
  json cm = putConfigMap("raced");
  ObjectRef subject{"v1",    "ConfigMap",           ns_,
                    "raced", cm["metadata"]["uid"], cm["metadata"]["resourceVersion"]};
  std::vector<int> attempts;
  KubernetesStore::Options options;
  options.before_write = [&](const std::string&, const std::string&, int attempt) {
    attempts.push_back(attempt);
    if (attempt != 1) return;
    // Someone else creates the report first: our POST gets 409 AlreadyExists.
    PolicyReport theirs = resourceReport(subject, "someone-else");
    json obj = toJson(theirs);
    obj["metadata"]["labels"]["other-writer"] = "created-first";
    auto reply =
        admin_->request("POST", reportCollectionPath(ns_, false), obj.dump(), "application/json");
    ASSERT_TRUE(reply.ok() && reply->status == 201)
        << (reply.ok() ? reply->body : reply.error().message);
  };
  KubernetesStore store(admin_, options);
  ASSERT_TRUE(store.beginRun("run-ours").ok());
  auto saved = store.saveResourceReport(sampleResourceReport(subject, "run-ours"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(attempts, (std::vector<int>{1, 2}));
  json stored = getRaw("v1alpha2", ns_, subject.uid);
  EXPECT_EQ(stored["metadata"]["labels"]["other-writer"], "created-first");
  EXPECT_EQ(stored["metadata"]["labels"]["kubewarden.io/audit-scanner-run-uid"], "run-ours");
  EXPECT_EQ(stored["results"].size(), 2u);
}

TEST_F(ReportsStoreReal, EndlessConflictsGiveUpWithAClearError) {
  ASSERT_TRUE(
      KubernetesStore(admin_).saveNamespaceReport(sampleNamespaceReport(ns_, "", 1, 1)).ok());
  KubernetesStore::Options options;
  options.max_attempts = 3;
  int calls = 0;
  options.before_write = [&](const std::string& ns, const std::string& name, int) {
    touchAsOtherWriter(ns, name, "again-" + std::to_string(++calls));
  };
  KubernetesStore store(admin_, options);
  auto saved = store.saveNamespaceReport(sampleNamespaceReport(ns_, "", 2, 1));
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error().message, "saving PolicyReport " + ns_ + "/polr-ns-" + ns_ +
                                       ": still conflicting with other writers after 3 attempts");
  EXPECT_EQ(calls, 3);
}

TEST_F(ReportsStoreReal, DeleteStaleRemovesOlderRunsReportsInScope) {
  auto created = createNamespace(*admin_, uniqueNamespaceName());
  ASSERT_TRUE(created.ok()) << created.error().message;
  std::string other = *created;
  KubernetesStore store(admin_);
  ASSERT_TRUE(store.beginRun("run-1").ok());
  ObjectRef a = samplePod(ns_, "a"), b = samplePod(ns_, "b"), c = samplePod(other, "c");
  a.uid = ns_ + "-a";  // report names must be unique per namespace only, but keep them distinct
  b.uid = ns_ + "-b";
  c.uid = ns_ + "-c";
  // The sample Pods do not exist: without owner references, so that kube-controller-manager's
  // garbage collector leaves the reports alone and only deleteStale can remove them.
  auto unowned = [](const ObjectRef& r) {
    PolicyReport report = sampleResourceReport(r, "ignored");
    report.owners.clear();
    return report;
  };
  for (const ObjectRef& r : {a, b, c}) ASSERT_TRUE(store.saveResourceReport(unowned(r)).ok());
  ASSERT_TRUE(store.commitRun().ok());

  ASSERT_TRUE(store.beginRun("run-2").ok());
  ASSERT_TRUE(store.saveResourceReport(unowned(a)).ok());
  ASSERT_TRUE(store.deleteStale(StaleScope::namespaced(ns_)).ok());
  ASSERT_TRUE(store.commitRun().ok());
  auto ra = store.getResourceReport(ns_, a.uid);
  auto rb = store.getResourceReport(ns_, b.uid);
  auto rc = store.getResourceReport(other, c.uid);
  ASSERT_TRUE(ra.ok() && rb.ok() && rc.ok());
  ASSERT_TRUE(ra->has_value());
  EXPECT_EQ((*ra)->runUid(), "run-2");  // the store stamps the run in progress
  EXPECT_FALSE(rb->has_value());        // b was not seen by run-2: gone
  EXPECT_TRUE(rc->has_value());         // another namespace: out of scope
}

// A second scan of an unchanged cluster reads each report and writes none of them back, and
// deleteStale keeps them although they still carry the first run's label.
TEST_F(ReportsStoreReal, UnchangedReportIsNotRewrittenAndSurvivesDeleteStale) {
  KubernetesStore store(admin_);
  ASSERT_TRUE(store.beginRun("run-1").ok());
  PolicyReport report = sampleNamespaceReport(ns_, "run-1", 3, 2);
  ASSERT_TRUE(store.saveNamespaceReport(report).ok());
  ASSERT_TRUE(store.commitRun().ok());
  const std::string rv1 = getRaw("v1alpha2", ns_, "polr-ns-" + ns_)["metadata"]["resourceVersion"];

  ASSERT_TRUE(store.beginRun("run-2").ok());
  auto read = store.getNamespaceReport(ns_);
  ASSERT_TRUE(read.ok() && read->has_value());
  PolicyReport again = **read;
  again.labels[kRunUidLabel] = "run-2";
  ASSERT_TRUE(store.saveNamespaceReport(again).ok());
  ASSERT_TRUE(store.deleteStale(StaleScope::namespaced(ns_)).ok());
  ASSERT_TRUE(store.commitRun().ok());
  json stored = getRaw("v1alpha2", ns_, "polr-ns-" + ns_);
  ASSERT_TRUE(stored.is_object()) << "deleteStale removed a report this run found unchanged";
  EXPECT_EQ(stored["metadata"]["resourceVersion"], rv1) << "an unchanged report was written";

  // A changed one is written.
  ASSERT_TRUE(store.beginRun("run-3").ok());
  read = store.getNamespaceReport(ns_);
  ASSERT_TRUE(read.ok() && read->has_value());
  PolicyReport changed = **read;
  changed.results.pop_back();
  ASSERT_TRUE(store.saveNamespaceReport(changed).ok());
  ASSERT_TRUE(store.commitRun().ok());
  stored = getRaw("v1alpha2", ns_, "polr-ns-" + ns_);
  EXPECT_NE(stored["metadata"]["resourceVersion"], rv1);
  EXPECT_EQ(stored["results"].size(), changed.results.size());
  EXPECT_EQ(stored["metadata"]["labels"][kRunUidLabel], "run-3");
}

TEST_F(ReportsStoreReal, ApiRefusalsAreReportedWithTheReport) {
  KubernetesStore store(admin_);
  PolicyReport bad = sampleNamespaceReport(ns_, "", 1, 1);
  bad.name = "Not_A_Valid_Name";
  auto saved = store.saveNamespaceReport(bad);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error().message.find("creating PolicyReport " + ns_ + "/Not_A_Valid_Name"),
            std::string::npos)
      << saved.error().message;
  EXPECT_NE(saved.error().message.find("(422)"), std::string::npos) << saved.error().message;
  auto missing = store.getNamespaceReport(ns_ + "-nowhere");
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace kw::test
