// The host side as kwctl and the policy-server assemble it: flags, allow-lists, the connection
// to Kubernetes (the fake API server), record/replay files and boot failures.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube-fake/fake_api_server.h"
#include "kube/config.h"
#include "kwctl/host_flags.h"
#include "server/host_setup.h"
#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::host {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path scratch(const std::string& tag) {
  auto d = fs::temp_directory_path() / ("kw-host-wiring-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

bool eventually(const std::function<bool()>& cond) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

json namespaceObject(const std::string& name) {
  return json{{"apiVersion", "v1"},
              {"kind", "Namespace"},
              {"metadata", {{"name", name}, {"labels", {{"owner", "me"}}}}}};
}

class HostWiringServer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = kube::fake::FakeApiServer::start();
    ASSERT_TRUE(server) << server.error().message;
    fake_ = std::move(*server);
    ASSERT_TRUE(fake_->put(namespaceObject("team-a")));
    dir_ = scratch(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(fake_->writeKubeconfig(dir_ / "kubeconfig"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::function<Result<std::shared_ptr<kube::CachedReader>>()> connector() {
    auto path = dir_ / "kubeconfig";
    return [path]() -> Result<std::shared_ptr<kube::CachedReader>> {
      auto config = kube::loadKubeconfig(path);
      if (!config) return config.error();
      auto client = kube::Client::create(*config);
      if (!client) return client.error();
      return std::make_shared<kube::CachedReader>(*client);
    };
  }

  server::PolicyMap policies() {
    server::PolicyMap map;
    map["ctx"].context_aware_resources = {{"v1", "Namespace"}};
    map["plain"];
    return map;
  }

  std::unique_ptr<kube::fake::FakeApiServer> fake_;
  fs::path dir_;
};

TEST_F(HostWiringServer, BootSyncsTheCachesAndEnforcesEachPolicysList) {
  server::HostSetupOptions o;
  o.connect = connector();
  auto stack = server::setupServerHost(policies(), std::move(o));
  std::string seen;
  for (const auto& line : fake_->requests()) seen += line + "\n";
  ASSERT_TRUE(stack) << stack.error().message << "\nrequests:\n" << seen;
  auto& d = *stack->dispatcher;
  const char* list = R"({"api_version":"v1","kind":"Namespace"})";
  auto r = d.dispatch({"ctx", "kubewarden", "kubernetes", "list_resources_all", list});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(json::parse(*r)["items"][0]["metadata"]["name"], "team-a");
  auto denied = d.dispatch({"plain", "kubewarden", "kubernetes", "list_resources_all", list});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().message,
            "Policy has not been granted access to Kubernetes v1/Namespace resources. The "
            "violation has been reported.");
  // The Rego context follows the watch: a new namespace shows up without a restart.
  auto first = d.regoContext("ctx", RegoLayout::Opa);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(json::parse(**first)["namespaces"].contains("team-a"));
  ASSERT_TRUE(fake_->put(namespaceObject("team-b")));
  EXPECT_TRUE(eventually([&] {
    auto ctx = d.regoContext("ctx", RegoLayout::Opa);
    return ctx && *ctx && json::parse(**ctx)["namespaces"].contains("team-b");
  }));
}

TEST_F(HostWiringServer, FailsFastWithoutKubernetesUnlessTold) {
  server::HostSetupOptions o;
  o.connect = []() -> Result<std::shared_ptr<kube::CachedReader>> {
    return makeError("no kubeconfig");
  };
  auto failed = server::setupServerHost(policies(), o);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message,
            "Cannot connect to Kubernetes, context aware policies would not work properly: no "
            "kubeconfig");
  o.ignore_kubernetes_connection_failure = true;
  auto ignored = server::setupServerHost(policies(), o);
  ASSERT_TRUE(ignored) << ignored.error().message;
  auto r = ignored->dispatcher->dispatch({"ctx", "kubewarden", "kubernetes", "list_resources_all",
                                          R"({"api_version":"v1","kind":"Namespace"})"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no connection to Kubernetes"), std::string::npos);
}

TEST_F(HostWiringServer, NoContextAwarePolicyNeedsNoKubernetes) {
  bool called = false;
  server::HostSetupOptions o;
  o.connect = [&]() -> Result<std::shared_ptr<kube::CachedReader>> {
    called = true;
    return makeError("unexpected");
  };
  server::PolicyMap only_plain;
  only_plain["plain"];
  auto stack = server::setupServerHost(only_plain, o);
  ASSERT_TRUE(stack) << stack.error().message;
  EXPECT_FALSE(called);
  auto log = stack->dispatcher->dispatch(
      {"plain", "kubewarden", "tracing", "log", R"({"level":"debug","message":"x"})"});
  EXPECT_TRUE(log);
}

// ---- kwctl ------------------------------------------------------------------------------

policy::Metadata contextAware() {
  policy::Metadata md;
  md.contextAwareResources = {{"v1", "Namespace"}};
  return md;
}

TEST(HostWiringKwctl, RecordAndReplayFlagsAreExclusive) {
  CLI::App app;
  kwctl::HostFlags flags;
  kwctl::addHostFlags(app, flags);
  EXPECT_NO_THROW(app.parse(std::vector<std::string>{
      "a.yml", "--record-host-capabilities-interactions", "--allow-context-aware"}));
  EXPECT_TRUE(flags.allow_context_aware);
  EXPECT_EQ(flags.record_path, "a.yml");
  CLI::App app2;
  kwctl::HostFlags flags2;
  kwctl::addHostFlags(app2, flags2);
  EXPECT_THROW(
      app2.parse(std::vector<std::string>{"b.yml", "--replay-host-capabilities-interactions",
                                          "a.yml", "--record-host-capabilities-interactions"}),
      CLI::ParseError);
}

TEST(HostWiringKwctl, WithoutAllowContextAwareNothingIsGranted) {
  bool connected = false;
  kwctl::HostFlags flags;
  auto host = kwctl::buildKwctlHost(flags, "p", contextAware(), {}, [&] {
    connected = true;
    return Result<std::shared_ptr<kube::CachedReader>>(makeError("unexpected"));
  });
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_FALSE(connected);
  auto r = (*host)->dispatcher()->dispatch({"p", "kubewarden", "kubernetes", "list_resources_all",
                                            R"({"api_version":"v1","kind":"Namespace"})"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("has not been granted access"), std::string::npos);
}

TEST(HostWiringKwctl, AllowedButUnreachableKubernetesIsAnError) {
  kwctl::HostFlags flags;
  flags.allow_context_aware = true;
  auto host = kwctl::buildKwctlHost(flags, "p", contextAware(), {}, [] {
    return Result<std::shared_ptr<kube::CachedReader>>(
        makeError("Cannot connect to Kubernetes: no kubeconfig"));
  });
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().message, "Cannot connect to Kubernetes: no kubeconfig");
}

TEST(HostWiringKwctl, ReplaysTheJsDemoFixtureWithoutKubernetes) {
  if (!kw::test::haveShared()) KW_CANT_RUN() << "../shared is absent";
  kwctl::HostFlags flags;
  flags.allow_context_aware = true;
  flags.replay_path =
      (kw::test::sharedDir() / "fixtures/requests/js-demo-policy/namespace-found.yml").string();
  auto host = kwctl::buildKwctlHost(flags, "js", contextAware(), {}, [] {
    return Result<std::shared_ptr<kube::CachedReader>>(makeError("must not connect"));
  });
  ASSERT_TRUE(host) << host.error().message;
  auto r = (*host)->dispatcher()->dispatch(
      {"js", "kubewarden", "kubernetes", "get_resource",
       R"({"api_version":"v1","kind":"Namespace","name":"test-policy","disable_cache":false})"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(json::parse(*r)["metadata"]["labels"]["demo-namespace"], "true");
}

TEST(HostWiringKwctl, RecordingWritesTheSessionAtTheEnd) {
  auto dir = scratch("record");
  kwctl::HostFlags flags;
  flags.record_path = (dir / "session.yml").string();
  {
    auto host = kwctl::buildKwctlHost(flags, "p", std::nullopt);
    ASSERT_TRUE(host) << host.error().message;
    auto r = (*host)->dispatcher()->dispatch(
        {"p", "kubewarden", "net", "v1/dns_lookup_host", "\"localhost\""});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(fs::exists(dir / "session.yml"));
    ASSERT_TRUE((*host)->finish());
  }
  auto session = readSession(dir / "session.yml");
  ASSERT_TRUE(session) << session.error().message;
  ASSERT_EQ(session->size(), 1u);
  EXPECT_EQ((*session)[0].request, "!DNSLookupHost\nhost: localhost\n");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kw::host
