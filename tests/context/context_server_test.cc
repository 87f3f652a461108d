// The policy-server's Kubernetes start-up without a reachable API server. With the real
// kube-apiserver (verdicts that follow the cluster, the allow-list) it is tested in
// tests/cluster/policy_server_kube_test.cc.
#include <gtest/gtest.h>

#include <cstdlib>

#include "context/context_env.h"

namespace kw::context_test {
namespace {


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

TEST(ContextServer, UnreachableClusterFailsTheBootUnlessIgnored) {
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
    test::ServerProcess server(contextPoliciesYml());
    EXPECT_NE(server.waitExit(60000), 0) << server.log();
  }
  {
    test::ServerProcess server(contextPoliciesYml(), {"--ignore-kubernetes-connection-failure"});
    EXPECT_TRUE(server.waitReady()) << server.log();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kw::context_test
