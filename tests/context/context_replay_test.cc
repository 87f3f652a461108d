// Record and replay of host-capability interactions with kwctl (spec §3): upstream's js-demo
// fixture sessions
// (../shared/fixtures/requests/js-demo-policy/namespace-{found,not-found}.yml) replay with our
// WASI host_caller and with the js-demo WASI policy itself.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "context/context_env.h"
#include "support/cant_run.h"

namespace kw::context_test {
namespace {

// Exactly the request the fixture sessions recorded (a KubernetesGetResource).
Json fixtureGetNamespace() {
  return {{"binding", "kubewarden"},
          {"namespace", "kubernetes"},
          {"operation", "get_resource"},
          {"payload",
           {{"api_version", "v1"},
            {"kind", "Namespace"},
            {"name", "test-policy"},
            {"namespace", nullptr},
            {"disable_cache", false}}}};
}

fs::path fixture(const std::string& name) {
  return test::sharedDir() / "fixtures/requests/js-demo-policy" / name;
}

// A fixture request re-homed into the fixture sessions' namespace, test-policy.
Json fixtureRequestIn(const std::string& file, const std::string& ns) {
  Json review = Json::parse(readText(fixture(file)), nullptr, false);
  Json req = review.contains("request") ? review["request"] : review;
  req["namespace"] = ns;
  if (req.contains("object") && req["object"].contains("metadata")) {
    req["object"]["metadata"]["namespace"] = ns;
  }
  return req;
}

class ContextReplay : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir("replay"); }
  void TearDown() override { fs::remove_all(dir_); }

  // No cluster at all: a replay must not need one.
  KwctlResult replay(const fs::path& policy, const fs::path& session, const Json& request,
                     const Json& settings, bool allow = true) {
    std::vector<std::string> args = {"--replay-host-capabilities-interactions", session.string()};
    if (allow) args.push_back("--allow-context-aware");
    return kwctlRun(dir_, policy, request, settings, args, (dir_ / "no-such-kubeconfig").string());
  }

  fs::path dir_;
};

TEST_F(ContextReplay, RecordAndReplayAreMutuallyExclusive) {
  auto r = kwctlRun(dir_, annotatedGuest("host_caller"), podRequest("x"),
                    {{"binding", "a"}, {"namespace", "b"}, {"operation", "c"}},
                    {"--record-host-capabilities-interactions", (dir_ / "a.yml").string(),
                     "--replay-host-capabilities-interactions", (dir_ / "b.yml").string()},
                    "");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "a.yml"));
}

TEST_F(ContextReplay, JsDemoFixtureSessionsReplayThroughHostCaller) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared is absent: " << test::sharedDir();
  for (std::string policy : {"host_caller", "wasi_host_caller"}) {
    SCOPED_TRACE(policy);
    auto found = replay(annotatedGuest(policy), fixture("namespace-found.yml"),
                        podRequest("test-policy"), fixtureGetNamespace());
    EXPECT_EQ(found.status, 0) << found.err;
    EXPECT_EQ(found.response.value("allowed", false), true) << found.out << found.err;
    EXPECT_EQ(Json::parse(statusMessage(found.response), nullptr, false),
              Json::parse(R"({"apiVersion":"v1","kind":"Namespace",
                              "metadata":{"labels":{"demo-namespace":"true"}}})"));

    auto missing = replay(annotatedGuest(policy), fixture("namespace-not-found.yml"),
                          podRequest("test-policy"), fixtureGetNamespace());
    EXPECT_EQ(missing.status, 0) << missing.err;
    // The recorded error, behind the host's own prefix.
    std::string message = statusMessage(missing.response);
    EXPECT_EQ(message.rfind("host error: ", 0), 0u) << missing.out << missing.err;
    EXPECT_NE(message.find("Cannot find v1/Namespace named 'test-policy' inside of namespace "
                           "'None'"),
              std::string::npos)
        << message;
  }
}

// The js-demo policy in ../shared is the TypeScript demo built with Javy. Its embedded metadata
// declares no contextAwareResources, and its validate path never calls the host (only its
// testScenario settings do, for OCI and DNS): the fixture sessions therefore replay without a
// single exchange and the verdicts are the privileged-container rule's, in namespace test-policy.
TEST_F(ContextReplay, JsDemoPolicyReplaysTheFixtureSessions) {
  if (!test::haveShared()) KW_CANT_RUN() << "../shared is absent: " << test::sharedDir();
  fs::path js_demo = test::sharedDir() / "fixtures/policies/wasi/js-demo-policy-annotated.wasm";
  for (std::string session : {"namespace-found.yml", "namespace-not-found.yml"}) {
    SCOPED_TRACE(session);
    auto privileged = replay(js_demo, fixture(session),
                             fixtureRequestIn("privileged-pod-default.json", "test-policy"),
                             Json::object(), false);
    EXPECT_EQ(privileged.status, 0) << privileged.err;
    EXPECT_EQ(privileged.response.value("allowed", true), false)
        << privileged.out << privileged.err;
    EXPECT_EQ(statusMessage(privileged.response), "privileged containers are not allowed");
    EXPECT_EQ(privileged.response.value("uid", ""), "1299d386-525b-4032-98ae-1949f69f9cfc");

    auto plain = replay(js_demo, fixture(session),
                        fixtureRequestIn("no_privileged_containers.json", "test-policy"),
                        Json::object(), false);
    EXPECT_EQ(plain.status, 0) << plain.err;
    EXPECT_EQ(plain.response.value("allowed", false), true) << plain.out << plain.err;

    auto ignored = replay(js_demo, fixture(session),
                          fixtureRequestIn("privileged-pod-default.json", "test-policy"),
                          {{"ignoredNamespaces", {"test-policy"}}}, false);
    EXPECT_EQ(ignored.response.value("allowed", false), true) << ignored.out << ignored.err;
  }
}

}  // namespace
}  // namespace kw::context_test
