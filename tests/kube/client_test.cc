// The kube client's behaviour against the real kube-apiserver is tested in
// tests/cluster/kube_client_test.cc; what remains here needs no API server, or a fault only the
// kube-fake can inject.
#include "kube/client.h"

#include <gtest/gtest.h>

#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

TEST(KubeClient, UnreachableServerIsAClearError) {
  Config cfg;
  cfg.server = "https://127.0.0.1:1";
  auto client = Client::create(cfg);
  ASSERT_TRUE(client.ok());
  auto r = (*client)->resolve({"v1", "Namespace"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot reach the Kubernetes API at https://127.0.0.1:1"),
            std::string::npos);
  cfg.server = "127.0.0.1:6443";
  EXPECT_FALSE(Client::create(cfg).ok());
}

}  // namespace
}  // namespace kw::kube

// A fault a real API server cannot produce: an object over etcd's ~1.5 MiB limit. A broken or
// hostile server could send one, and must not grow the watcher without bound (issue 17).
namespace kw::kube {
namespace {

class KubeClientFaults : public test::KubeFakeFixture {};

TEST_F(KubeClientFaults, WatchRefusesAnEventLargerThanAnyObject) {
  addNamespace("huge", {{"filler", std::string(17u << 20, 'x')}});
  auto type = client_->resolve({"v1", "Namespace"});
  ASSERT_TRUE(type.ok()) << type.error().message;
  Client::WatchOptions options;
  options.bookmarks = false;
  size_t events = 0;
  WatchCancel cancel;
  auto end = client_->watch(
      *type, options,
      [&](std::string_view) {
        ++events;
        return true;
      },
      cancel);
  EXPECT_EQ(events, 0u);
  ASSERT_FALSE(end.ok());
  EXPECT_NE(end.error().message.find("refused a watch event"), std::string::npos)
      << end.error().message;
  EXPECT_NE(end.error().message.find("larger than 16777216 bytes"), std::string::npos);
}

}  // namespace
}  // namespace kw::kube
