#include "host/session.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "host/capability_dispatcher.h"
#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::host {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Answers every request with a reply naming it; fails DNS lookups of "bad".
class ScriptedHandler : public CallbackHandler {
 public:
  Result<std::string> handle(const CallbackRequest& r) override {
    ++calls;
    if (r.type == kDnsLookupHost && r.fields["host"] == "bad") {
      return makeError("failed to lookup address information: Name or service not known");
    }
    return json{{"answer", r.type}}.dump();
  }
  int calls = 0;
};

fs::path tempDir() {
  auto d =
      fs::temp_directory_path() / ("kw-host-session-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

HostCall call(std::string_view ns, std::string_view op, std::string_view payload) {
  return HostCall{"policy", "kubewarden", ns, op, payload};
}

std::unique_ptr<CapabilityDispatcher> dispatcherFor(std::shared_ptr<CallbackHandler> h) {
  DispatcherOptions o;
  o.handler = std::move(h);
  auto d = std::make_unique<CapabilityDispatcher>(std::move(o));
  d->allowResources("policy", {{"v1", "Namespace"}});
  return d;
}

const char* kGet = R"({"api_version":"v1","kind":"Namespace","name":"ns1","disable_cache":false})";

TEST(HostSession, RecordThenReplayRoundTrip) {
  auto dir = tempDir();
  auto file = dir / "session.yml";
  auto live = std::make_shared<ScriptedHandler>();
  {
    auto recorder = std::make_shared<RecordingHandler>(live, file);
    auto d = dispatcherFor(recorder);
    ASSERT_TRUE(d->dispatch(call("kubernetes", "get_resource", kGet)));
    ASSERT_FALSE(d->dispatch(call("net", "v1/dns_lookup_host", "\"bad\"")));
    ASSERT_TRUE(d->dispatch(call("oci", "v1/manifest_digest", "\"busybox:1.36\"")));
    // Synchronous capabilities are not recorded, as upstream.
    ASSERT_TRUE(d->dispatch(call("tracing", "log", R"({"level":"info","message":"hi"})")));
    EXPECT_EQ(recorder->exchanges().size(), 3u);
    ASSERT_TRUE(recorder->save());
  }
  EXPECT_EQ(live->calls, 3);
  auto replay = ReplayingHandler::fromFile(file);
  ASSERT_TRUE(replay) << replay.error().message;
  auto d = dispatcherFor(*replay);
  auto got = d->dispatch(call("kubernetes", "get_resource", kGet));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, R"({"answer":"KubernetesGetResource"})");
  auto failed = d->dispatch(call("net", "v1/dns_lookup_host", "\"bad\""));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message,
            "Callback evaluation failure: failed to lookup address information: Name or service "
            "not known");
  ASSERT_TRUE(d->dispatch(call("oci", "v1/manifest_digest", "\"busybox:1.36\"")));
  EXPECT_EQ((*replay)->remaining(), 0u);
  auto empty = d->dispatch(call("oci", "v1/manifest_digest", "\"busybox:1.36\""));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message,
            "Callback evaluation failure: the list of recorded responses is empty");
  // No temporary file is left beside the session.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(HostSession, ReplayRejectsADifferentRequest) {
  auto replay = ReplayingHandler::fromExchanges(
      {{"!DNSLookupHost\nhost: kubewarden.io\n", true, R"({"ips":["1.2.3.4"]})"}});
  ASSERT_TRUE(replay);
  auto d = dispatcherFor(*replay);
  auto r = d->dispatch(call("net", "v1/dns_lookup_host", "\"example.com\""));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Callback evaluation failure: Replay error: unexpected request. Was expecting "
            "DNSLookupHost { host: \"kubewarden.io\" }, got DNSLookupHost { host: "
            "\"example.com\" } instead");
}

TEST(HostSession, SessionYamlHasUpstreamShape) {
  std::vector<Exchange> ex = {
      {"!DNSLookupHost\nhost: a\n", true, R"({"ips":[]})"},
      {"!DNSLookupHost\nhost: b\n", false, "Cannot find it in 'None'"},
      {"!DNSLookupHost\nhost: c\n", false, "it's: quoted"},
  };
  EXPECT_EQ(sessionToYaml(ex),
            "- type: Exchange\n  request: |\n    !DNSLookupHost\n    host: a\n  response:\n"
            "    type: Success\n    payload: '{\"ips\":[]}'\n"
            "- type: Exchange\n  request: |\n    !DNSLookupHost\n    host: b\n  response:\n"
            "    type: Error\n    message: Cannot find it in 'None'\n"
            "- type: Exchange\n  request: |\n    !DNSLookupHost\n    host: c\n  response:\n"
            "    type: Error\n    message: \"it's: quoted\"\n");
  auto back = sessionFromYaml(sessionToYaml(ex));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[2].payload, "it's: quoted");
  EXPECT_EQ((*back)[1].payload, "Cannot find it in 'None'");
  EXPECT_FALSE((*back)[1].success);
}

TEST(HostSession, ClearErrorsForBadFiles) {
  auto dir = tempDir();
  auto missing = ReplayingHandler::fromFile(dir / "nope.yml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("Cannot open host capabilities interactions file"),
            std::string::npos);
  std::ofstream(dir / "bad.yml") << "- type: Exchange\n  request: |\n    !Bogus\n    a: b\n"
                                    "  response:\n    type: Success\n    payload: x\n";
  auto bad = ReplayingHandler::fromFile(dir / "bad.yml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown variant `Bogus`"), std::string::npos);
  auto unwritable = writeSession(dir / "no-such-dir" / "s.yml", {});
  ASSERT_FALSE(unwritable);
  EXPECT_NE(unwritable.error().message.find("Cannot save context aware session"),
            std::string::npos);
  fs::remove_all(dir);
}

fs::path fixture(const std::string& rel) {
  return kw::test::sharedDir() / "fixtures" / "requests" / rel;
}

TEST(HostSessionFixtures, JsDemoNamespaceFoundReplays) {
  if (!kw::test::haveShared()) KW_CANT_RUN() << "../shared is absent";
  auto replay = ReplayingHandler::fromFile(fixture("js-demo-policy/namespace-found.yml"));
  ASSERT_TRUE(replay) << replay.error().message;
  auto d = dispatcherFor(*replay);
  auto r = d->dispatch(call("kubernetes", "get_resource",
                            R"({"api_version":"v1","kind":"Namespace","name":"test-policy",)"
                            R"("disable_cache":false})"));
  ASSERT_TRUE(r) << r.error().message;
  auto ns = json::parse(*r);
  EXPECT_EQ(ns["metadata"]["labels"]["demo-namespace"], "true");
}

TEST(HostSessionFixtures, JsDemoNamespaceNotFoundReplaysTheError) {
  if (!kw::test::haveShared()) KW_CANT_RUN() << "../shared is absent";
  auto replay = ReplayingHandler::fromFile(fixture("js-demo-policy/namespace-not-found.yml"));
  ASSERT_TRUE(replay) << replay.error().message;
  auto d = dispatcherFor(*replay);
  auto r = d->dispatch(call("kubernetes", "get_resource",
                            R"({"api_version":"v1","kind":"Namespace","name":"test-policy",)"
                            R"("namespace":null,"disable_cache":false})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Callback evaluation failure: Cannot find v1/Namespace named 'test-policy' inside of "
            "namespace 'None'");
}

TEST(HostSessionFixtures, GoWasiSessionParsesEveryRequest) {
  if (!kw::test::haveShared()) KW_CANT_RUN() << "../shared is absent";
  auto exchanges = readSession(fixture("go-wasi-context-aware-test-policy/session.yml"));
  ASSERT_TRUE(exchanges) << exchanges.error().message;
  ASSERT_EQ(exchanges->size(), 3u);
  std::vector<std::string> types;
  for (const auto& e : *exchanges) {
    auto r = requestFromYaml(e.request);
    ASSERT_TRUE(r) << e.request << r.error().message;
    types.push_back(r->type);
    // What we would record for the same request reads back equal.
    auto again = requestFromYaml(requestToYaml(*r));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *r);
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{"KubernetesListResourceAll",
                                      "KubernetesListResourceNamespace", "KubernetesGetResource"}));
  // And the session replays for a policy allowed to read those types.
  auto replay = ReplayingHandler::fromExchanges(*exchanges);
  ASSERT_TRUE(replay);
  DispatcherOptions o;
  o.handler = *replay;
  CapabilityDispatcher d(std::move(o));
  d.allowResources("p", {{"v1", "Namespace"}, {"apps/v1", "Deployment"}, {"v1", "Service"}});
  auto list =
      d.dispatch({"p", "kubewarden", "kubernetes", "list_resources_all",
                  R"({"api_version":"v1","kind":"Namespace","label_selector":"customer-id=1"})"});
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(json::parse(*list)["items"][0]["metadata"]["name"], "customer-1");
}

}  // namespace
}  // namespace kw::host
