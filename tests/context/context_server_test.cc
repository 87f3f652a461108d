// End to end: the policy-server started with KUBECONFIG pointing at the kube-fake API server
// serves context-aware policies of every flavour (waPC, WASI, OPA, Gatekeeper) from its watch
// caches, and their verdicts follow the cluster as it changes (spec §1.9, §2.4, §2.6).
#include <gtest/gtest.h>

#include <cstdlib>

#include "context/context_env.h"

namespace kw::context_test {
namespace {

std::string policiesYml() {
  std::string ns_resources =
      "  contextAwareResources:\n"
      "  - apiVersion: v1\n"
      "    kind: Namespace\n";
  std::string out;
  for (const auto& [id, guest] : std::vector<std::pair<std::string, std::string>>{
           {"ns-label", "ctx_namespace_label"},
           {"wasi-ns-label", "wasi_ctx_namespace_label"},
           {"opa-ns", "opa_ctx_namespace"},
           {"gk-ns", "gatekeeper_ctx_namespace"}}) {
    out += id + ":\n  url: " + annotatedGuest(guest).string() + "\n" + ns_resources;
    if (guest.find("label") != std::string::npos) out += "  settings:\n    required_label: owner\n";
  }
  // Granted v1 Service only: its Namespace calls take the denied path.
  out += "caller:\n  url: " + annotatedGuest("host_caller").string() +
         "\n  contextAwareResources:\n  - apiVersion: v1\n    kind: Service\n"
         "  settings:\n    binding: kubewarden\n    namespace: kubernetes\n"
         "    operation: list_resources_all\n"
         "    payload: {\"api_version\": \"v1\", \"kind\": \"Namespace\"}\n";
  return out;
}

// KUBECONFIG for the children forked while it is set.
class ScopedKubeconfig {
 public:
  explicit ScopedKubeconfig(const std::string& path) {
    if (const char* old = std::getenv("KUBECONFIG")) old_ = old;
    ::setenv("KUBECONFIG", path.c_str(), 1);
  }
  ~ScopedKubeconfig() {
    if (old_.empty()) {
      ::unsetenv("KUBECONFIG");
    } else {
      ::setenv("KUBECONFIG", old_.c_str(), 1);
    }
  }

 private:
  std::string old_;
};

class ContextServer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveKubeFake()) GTEST_SKIP() << "kube-fake is not built: " << test::binDir();
    ASSERT_TRUE(fake_.waitReady()) << fake_.log();
    ASSERT_EQ(fake_.create(namespaceObject("srv-a", {{"owner", "alice"}})), 201);
    ASSERT_EQ(fake_.create(namespaceObject("srv-b")), 201);
  }

  static Json verdict(const test::ServerProcess& server, const std::string& policy,
                      const std::string& ns) {
    auto r = server.post("/validate/" + policy, admissionReview(podRequest(ns, "u-" + ns)).dump());
    Json body = Json::parse(r.body, nullptr, false);
    return r.status == 200 && body.is_object() ? body.value("response", Json()) : Json(r.body);
  }

  // Polls until the policy's verdict on `ns` is `allowed`, for at most `timeout`.
  static bool waitForVerdict(const test::ServerProcess& server, const std::string& policy,
                             const std::string& ns, bool allowed,
                             std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    do {
      Json v = verdict(server, policy, ns);
      if (v.is_object() && v.value("allowed", !allowed) == allowed) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    } while (std::chrono::steady_clock::now() < end);
    return false;
  }

  KubeFake fake_;
};

TEST_F(ContextServer, VerdictsFollowTheClusterIncludingWatchUpdates) {
  ScopedKubeconfig env(fake_.kubeconfig().string());
  test::ServerProcess server(policiesYml());
  ASSERT_TRUE(server.waitReady()) << server.log();

  for (std::string policy : {"ns-label", "wasi-ns-label"}) {
    SCOPED_TRACE(policy);
    Json a = verdict(server, policy, "srv-a");
    EXPECT_EQ(a.value("allowed", false), true) << a.dump();
    EXPECT_EQ(a.value("uid", ""), "u-srv-a");
    EXPECT_EQ(statusMessage(verdict(server, policy, "srv-b")),
              "namespace 'srv-b' does not have the required label 'owner'");
    EXPECT_EQ(statusMessage(verdict(server, policy, "srv-new")), "namespace 'srv-new' not found");
  }
  for (std::string policy : {"opa-ns", "gk-ns"}) {
    SCOPED_TRACE(policy);
    EXPECT_EQ(verdict(server, policy, "srv-b").value("allowed", false), true);
    EXPECT_EQ(verdict(server, policy, "srv-new").value("allowed", true), false);
  }

  // A Namespace created after boot reaches every policy through the watch.
  ASSERT_EQ(fake_.create(namespaceObject("srv-new", {{"owner", "bob"}})), 201);
  for (std::string policy : {"ns-label", "wasi-ns-label", "opa-ns", "gk-ns"}) {
    EXPECT_TRUE(waitForVerdict(server, policy, "srv-new", true))
        << policy << ": " << verdict(server, policy, "srv-new").dump();
  }

  // A label removed by a merge patch: the watch's MODIFIED event turns the verdict around.
  auto patched =
      fake_.request("PATCH", "/api/v1/namespaces/srv-new",
                    R"({"metadata":{"labels":{"owner":null}}})", "application/merge-patch+json");
  ASSERT_EQ(patched.first, 200) << patched.second;
  EXPECT_TRUE(waitForVerdict(server, "ns-label", "srv-new", false));
  EXPECT_EQ(statusMessage(verdict(server, "ns-label", "srv-new")),
            "namespace 'srv-new' does not have the required label 'owner'");

  // A deleted Namespace disappears from the Rego context too.
  auto deleted = fake_.request("DELETE", "/api/v1/namespaces/srv-new");
  ASSERT_EQ(deleted.first, 200) << deleted.second;
  EXPECT_TRUE(waitForVerdict(server, "opa-ns", "srv-new", false));
  EXPECT_TRUE(waitForVerdict(server, "gk-ns", "srv-new", false));
}

TEST_F(ContextServer, PolicyOutsideItsAllowListIsDenied) {
  ScopedKubeconfig env(fake_.kubeconfig().string());
  test::ServerProcess server(policiesYml());
  ASSERT_TRUE(server.waitReady()) << server.log();
  Json r = verdict(server, "caller", "srv-a");
  EXPECT_EQ(r.value("allowed", true), false) << r.dump();
  EXPECT_EQ(statusMessage(r),
            "host error: Policy has not been granted access to Kubernetes v1/Namespace "
            "resources. The violation has been reported.");
}

TEST_F(ContextServer, UnreachableClusterFailsTheBootUnlessIgnored) {
  fs::path dir = makeTempDir("unreachable");
  // A kubeconfig whose API server does not listen.
  writeFile(dir / "kubeconfig",
            "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
            "clusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:" +
                std::to_string(test::freePort()) +
                "\n    insecure-skip-tls-verify: true\n"
                "contexts:\n- name: dead\n  context:\n    cluster: dead\n    user: u\n"
                "users:\n- name: u\n  user:\n    token: t\n");
  ScopedKubeconfig env((dir / "kubeconfig").string());
  {
    test::ServerProcess server(policiesYml());
    EXPECT_NE(server.waitExit(60000), 0) << server.log();
  }
  {
    test::ServerProcess server(policiesYml(), {"--ignore-kubernetes-connection-failure"});
    EXPECT_TRUE(server.waitReady()) << server.log();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kw::context_test
