// A colon-separated KUBECONFIG is merged as kubectl merges it: per cluster, user and context
// name the first file defining it wins, current-context comes from the first file setting it,
// and relative paths belong to the file that defined the entry.
#include <gtest/gtest.h>

#include <fstream>

#include "kube/config.h"
#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

namespace fs = std::filesystem;
using test::ScopedEnv;

class KubeconfigMerge : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::tempDir("merge"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const fs::path& relative, const std::string& text) {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream(dir_ / relative) << text;
    return dir_ / relative;
  }
  // KUBECONFIG for the duration of the test.
  void useList(const std::string& list) { env_.emplace("KUBECONFIG", list.c_str()); }

  fs::path dir_;
  std::optional<ScopedEnv> env_;
};

TEST_F(KubeconfigMerge, FirstDefinitionOfEachNameWinsAndCurrentContextFromTheFirstSetter) {
  // a: no current-context; its cluster "shared" and user "shared" shadow b's.
  auto a = write("a", R"(clusters:
- name: shared
  cluster: {server: "https://from-a:6443"}
users:
- name: shared
  user: {token: token-a}
contexts:
- name: only-a
  context: {cluster: shared, user: shared}
)");
  auto b = write("b", R"(current-context: from-b
clusters:
- name: shared
  cluster: {server: "https://from-b:6443"}
users:
- name: shared
  user: {token: token-b}
contexts:
- name: from-b
  context: {cluster: shared, user: shared}
)");
  auto c = write("c", "current-context: only-a\n");
  useList(a.string() + ":" + b.string() + ":" + c.string());
  auto cfg = loadKubeconfig();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://from-a:6443");
  EXPECT_EQ(cfg->token, "token-a");
  EXPECT_EQ(cfg->origin,
            "kubeconfig " + a.string() + ":" + b.string() + ":" + c.string() + " (context from-b)");
}

TEST_F(KubeconfigMerge, RelativePathsBelongToTheFileThatDefinedTheEntry) {
  write("one/ca.pem", "CA-ONE");
  write("two/ca.pem", "CA-TWO");
  write("two/token", "token-two\n");
  write("two/bin/plugin", "#!/bin/sh\n");
  auto one = write("one/config", R"(current-context: ctx
clusters:
- name: k
  cluster: {server: "https://k:6443", certificate-authority: ca.pem}
contexts:
- name: ctx
  context: {cluster: k, user: u}
)");
  auto two = write("two/config", R"(users:
- name: u
  user: {tokenFile: token}
- name: plugin
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./bin/plugin}
contexts:
- name: exec
  context: {cluster: k, user: plugin}
)");
  useList(one.string() + ":" + two.string());
  auto cfg = loadKubeconfig();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->ca_pem, "CA-ONE");
  EXPECT_EQ(cfg->token, "token-two");
  EXPECT_EQ(cfg->token_file, (dir_ / "two" / "token").string());

  // The same files with the exec user's context current: its command is two's.
  auto three = write("three/config", "current-context: exec\n");
  useList(three.string() + ":" + one.string() + ":" + two.string());
  auto exec_cfg = loadKubeconfig();
  ASSERT_TRUE(exec_cfg.ok()) << exec_cfg.error().message;
  ASSERT_TRUE(exec_cfg->exec.has_value());
  EXPECT_EQ(exec_cfg->exec->command, (dir_ / "two" / "bin" / "plugin").string());
  EXPECT_EQ(exec_cfg->ca_pem, "CA-ONE");
}

TEST_F(KubeconfigMerge, EmptyEntriesAndMissingFilesAreSkipped) {
  auto real = write("real", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://real:6443"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  useList("::" + (dir_ / "missing").string() + ":" + real.string() + ":");
  auto cfg = loadKubeconfig();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://real:6443");
  EXPECT_EQ(cfg->origin, "kubeconfig " + real.string() + " (context c)");
  auto inferred = inferConfig();  // the exists check covers the whole list too
  ASSERT_TRUE(inferred.ok()) << inferred.error().message;
  EXPECT_EQ(inferred->server, "https://real:6443");
}

TEST_F(KubeconfigMerge, NoFileOfTheListExists) {
  std::string list = (dir_ / "gone-1").string() + "::" + (dir_ / "gone-2").string();
  useList(list);
  for (const auto& cfg : {loadKubeconfig(), inferConfig()}) {
    ASSERT_FALSE(cfg.ok());
    EXPECT_EQ(cfg.error().message,
              "none of the kubeconfig files in KUBECONFIG exists: " + (dir_ / "gone-1").string() +
                  ":" + (dir_ / "gone-2").string());
  }
}

TEST_F(KubeconfigMerge, AnInvalidFileOfTheListIsNamed) {
  auto good = write("good", "current-context: c\n");
  auto bad = write("bad", "clusters: [unclosed\n");
  useList(good.string() + ":" + bad.string());
  auto cfg = loadKubeconfig();
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().message.find("kubeconfig " + bad.string() + " is not valid YAML"),
            std::string::npos)
      << cfg.error().message;
}

TEST_F(KubeconfigMerge, AnExplicitPathIsReadAlone) {
  auto other = write("other", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://other:6443"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  auto named = write("named", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://named:6443"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  useList(other.string());
  auto cfg = loadKubeconfig(named);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://named:6443");
}

}  // namespace
}  // namespace kw::kube
