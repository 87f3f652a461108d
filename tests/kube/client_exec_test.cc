// kube::Client with an exec credential plugin, against the kube-fake (a token it does not know
// gets 401). The real kube-apiserver's side is tests/cluster/kube_exec_test.cc.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/base64.h"
#include "kube/client.h"
#include "kube/kube_fixture.h"
#include "support/exec_plugin.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;

class KubeClientExec : public test::KubeFakeFixture {
 protected:
  // A client whose kubeconfig user runs `plugin`.
  std::shared_ptr<Client> execClient(const kw::test::TokenPlugin& plugin) {
    auto path = dir_ / "exec-kubeconfig";
    std::ofstream(path) << "current-context: c\n"
                           "contexts: [{name: c, context: {cluster: fake, user: plugin}}]\n"
                           "clusters:\n- name: fake\n  cluster:\n    server: "
                        << fake_->url()
                        << "\n    certificate-authority-data: " << base64Encode(fake_->caPem())
                        << "\nusers:\n- name: plugin\n  user:\n"
                        << kw::test::execUserYaml(plugin);
    auto config = loadKubeconfig(path);
    EXPECT_TRUE(config.ok()) << config.error().message;
    if (!config.ok()) return nullptr;
    auto client = Client::create(*config);
    EXPECT_TRUE(client.ok());
    return client.ok() ? *client : nullptr;
  }
  json token(const std::string& t) { return {{"token", t}}; }
};

TEST_F(KubeClientExec, TheTokenIsFetchedOnceAndReused) {
  auto plugin = kw::test::writeTokenPlugin(dir_, token(fake_->adminToken()), token("unused"));
  auto client = execClient(plugin);
  ASSERT_TRUE(client);
  EXPECT_EQ(plugin.runs(), 0);  // lazily: not at creation
  addNamespace("exec-ns");
  auto type = client->resolve({"v1", "Namespace"});
  ASSERT_TRUE(type.ok()) << type.error().message;
  auto list = client->list(*type, {});
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_NE(list->find("exec-ns"), std::string::npos);
  EXPECT_EQ(plugin.runs(), 1);
}

TEST_F(KubeClientExec, A401RunsThePluginAgainAndRetriesOnce) {
  auto plugin = kw::test::writeTokenPlugin(dir_, token("revoked"), token(fake_->adminToken()));
  auto client = execClient(plugin);
  ASSERT_TRUE(client);
  auto type = client->resolve({"v1", "Namespace"});
  ASSERT_TRUE(type.ok()) << type.error().message;
  EXPECT_EQ(plugin.runs(), 2);
  ASSERT_TRUE(client->list(*type, {}).ok());
  EXPECT_EQ(plugin.runs(), 2);  // the fresh credential is cached
}

TEST_F(KubeClientExec, A401WithTheFreshCredentialIsTheAnswer) {
  auto plugin = kw::test::writeTokenPlugin(dir_, token("bad-1"), token("bad-2"));
  auto client = execClient(plugin);
  ASSERT_TRUE(client);
  auto reply = client->request("GET", "/api/v1/namespaces");
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 401);
  EXPECT_EQ(plugin.runs(), 2);  // one retry, not a loop
}

TEST_F(KubeClientExec, AWatchRefusedWith401StartsAgainWithAFreshCredential) {
  auto plugin = kw::test::writeTokenPlugin(dir_, token("revoked"), token(fake_->adminToken()));
  auto client = execClient(plugin);
  ASSERT_TRUE(client);
  addNamespace("watched");
  // The watch is the client's first request, so it meets the refused token itself.
  ResourceType namespaces{{"v1", "Namespace"}, "namespaces", false};
  Client::WatchOptions options;
  options.bookmarks = false;
  std::string first_event;
  WatchCancel cancel;
  auto end = client->watch(
      namespaces, options,
      [&](std::string_view line) {
        first_event = line;
        return false;  // one event is enough
      },
      cancel);
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(*end, Client::WatchEnd::kCancelled);
  EXPECT_NE(first_event.find("watched"), std::string::npos) << first_event;
  EXPECT_EQ(plugin.runs(), 2);
}

TEST_F(KubeClientExec, APluginFailureFailsTheRequestWithItsReason) {
  std::ofstream(dir_ / "failing.sh") << "#!/bin/sh\necho 'no SSO session' >&2\nexit 4\n";
  ::chmod((dir_ / "failing.sh").c_str(), 0755);
  kw::test::TokenPlugin failing{dir_ / "failing.sh", dir_ / "none"};
  auto client = execClient(failing);
  ASSERT_TRUE(client);
  auto reply = client->request("GET", "/api");
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(
      reply.error().message.find("cannot get credentials for the Kubernetes API (kubeconfig "),
      std::string::npos)
      << reply.error().message;
  EXPECT_NE(reply.error().message.find("exited with code 4: no SSO session"), std::string::npos)
      << reply.error().message;
}

}  // namespace
}  // namespace kw::kube
