// The policy-server's Kubernetes start-up against the real kube-apiserver: with KUBECONFIG set
// and context-aware policies of every flavour (waPC, WASI, OPA, Gatekeeper), it fills its watch
// caches before answering, and verdicts follow the cluster as it changes.
#include <gtest/gtest.h>

#include <cstdlib>

#include "context/context_env.h"
#include "support/cluster_env.h"

namespace kw::test {
namespace {

using context_test::admissionReview;
using context_test::contextPoliciesYml;
using context_test::podRequest;
using context_test::statusMessage;
using Json = nlohmann::json;


class PolicyServerKube : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The children forked from here on read this kubeconfig (each test is its own process).
    ::setenv("KUBECONFIG", env_.kubeconfig.c_str(), 1);
  }

  static Json verdict(const ServerProcess& server, const std::string& policy,
                      const std::string& ns) {
    auto r = server.post("/validate/" + policy, admissionReview(podRequest(ns, "u-" + ns)).dump());
    Json body = Json::parse(r.body, nullptr, false);
    return r.status == 200 && body.is_object() ? body.value("response", Json()) : Json(r.body);
  }

  static bool waitForVerdict(const ServerProcess& server, const std::string& policy,
                             const std::string& ns, bool allowed) {
    return waitFor([&] {
      Json v = verdict(server, policy, ns);
      return v.is_object() && v.value("allowed", !allowed) == allowed;
    });
  }

  void labelNamespace(const std::string& ns, const Json& labels) {
    auto patched = admin_->request("PATCH", "/api/v1/namespaces/" + ns,
                                   Json{{"metadata", {{"labels", labels}}}}.dump(),
                                   "application/merge-patch+json");
    ASSERT_TRUE(patched.ok()) << patched.error().message;
    ASSERT_EQ(patched->status, 200) << patched->body;
  }
};

TEST_F(PolicyServerKube, VerdictsFollowTheClusterIncludingWatchUpdates) {
  // ns_ has the owner label; `bare` exists without it; `later` does not exist yet.
  ASSERT_NO_FATAL_FAILURE(labelNamespace(ns_, {{"owner", "alice"}}));
  auto bare = createNamespace(*admin_, uniqueNamespaceName());
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  std::string later = uniqueNamespaceName();

  auto t0 = std::chrono::steady_clock::now();
  ServerProcess server(contextPoliciesYml());
  ASSERT_TRUE(server.waitReady()) << server.log();
  std::printf("policy-server with context-aware policies ready in %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_NE(server.log().find("Kubernetes caches synced"), std::string::npos) << server.log();

  for (std::string policy : {"ns-label", "wasi-ns-label"}) {
    SCOPED_TRACE(policy);
    Json a = verdict(server, policy, ns_);
    EXPECT_EQ(a.value("allowed", false), true) << a.dump();
    EXPECT_EQ(a.value("uid", ""), "u-" + ns_);
    EXPECT_EQ(statusMessage(verdict(server, policy, *bare)),
              "namespace '" + *bare + "' does not have the required label 'owner'");
    EXPECT_EQ(statusMessage(verdict(server, policy, later)), "namespace '" + later + "' not found");
  }
  for (std::string policy : {"opa-ns", "gk-ns"}) {
    SCOPED_TRACE(policy);
    EXPECT_EQ(verdict(server, policy, *bare).value("allowed", false), true);
    EXPECT_EQ(verdict(server, policy, later).value("allowed", true), false);
  }

  // A Namespace created after boot reaches every policy through the watch.
  auto made = admin_->request("POST", "/api/v1/namespaces",
                              Json{{"apiVersion", "v1"},
                                   {"kind", "Namespace"},
                                   {"metadata", {{"name", later}, {"labels", {{"owner", "bob"}}}}}}
                                  .dump(),
                              "application/json");
  ASSERT_TRUE(made.ok() && made->status == 201) << (made.ok() ? made->body : made.error().message);
  for (std::string policy : {"ns-label", "wasi-ns-label", "opa-ns", "gk-ns"})
    EXPECT_TRUE(waitForVerdict(server, policy, later, true))
        << policy << ": " << verdict(server, policy, later).dump();

  // A label removed by a merge patch: the watch's MODIFIED event turns the verdict around.
  ASSERT_NO_FATAL_FAILURE(labelNamespace(later, {{"owner", nullptr}}));
  EXPECT_TRUE(waitForVerdict(server, "ns-label", later, false));
  EXPECT_EQ(statusMessage(verdict(server, "ns-label", later)),
            "namespace '" + later + "' does not have the required label 'owner'");
}

TEST_F(PolicyServerKube, PolicyOutsideItsAllowListIsDenied) {
  ServerProcess server(contextPoliciesYml());
  ASSERT_TRUE(server.waitReady()) << server.log();
  Json r = verdict(server, "caller", ns_);
  EXPECT_EQ(r.value("allowed", true), false) << r.dump();
  EXPECT_EQ(statusMessage(r),
            "host error: Policy has not been granted access to Kubernetes v1/Namespace "
            "resources. The violation has been reported.");
}

}  // namespace
}  // namespace kw::test
