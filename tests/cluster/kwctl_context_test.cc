// `kwctl run --allow-context-aware` with KUBECONFIG pointing at the real kube-apiserver, through
// our host_caller policies (waPC and WASI) for every Kubernetes operation, the allow-list's
// denied path, DNS, certificate trust and tracing; the Rego-ABI and namespace-label context
// policies, whose verdicts follow the cluster's Namespaces; and recording a session that then
// replays without any cluster (spec §1.9, §2.4, §2.5, §2.6, §3).
//
// Each test has its namespace ns_ (labelled owner=<a value unique to the test>) and a second
// one without the label; cluster-wide lists also hold other tests' objects, so assertions look
// at this test's namespaces only.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "context/context_env.h"
#include "support/cluster_env.h"

namespace kw::test {
namespace {

using context_test::annotatedGuest;
using context_test::ingressObject;
using context_test::KwctlResult;
using context_test::kwctlRun;
using context_test::podRequest;
using context_test::readText;
using context_test::secretObject;
using context_test::serviceObject;
using context_test::shellQuote;
using context_test::statusMessage;
using context_test::writeFile;
using Json = nlohmann::json;
namespace fs = std::filesystem;

std::string deniedText(const std::string& api_version, const std::string& kind) {
  return "Policy has not been granted access to Kubernetes " + api_version + "/" + kind +
         " resources. The violation has been reported.";
}

// The names of a List's items that live in one of `namespaces` (sorted).
std::vector<std::string> namesIn(const Json& list, const std::set<std::string>& namespaces) {
  std::vector<std::string> names;
  if (!list.is_object() || !list.contains("items")) return names;
  for (const Json& item : list["items"]) {
    const Json& meta = item["metadata"];
    std::string ns = meta.value("namespace", "");
    std::string name = meta.value("name", "");
    if (namespaces.count(ns.empty() ? name : ns)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class KwctlContextBase : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dir_ = fs::path(KW_CLUSTER_DIR) / "tests" / "kwctl" / ns_;
    fs::create_directories(dir_);
    owner_ = ns_;  // a label value only this test uses
    auto patched = admin_->request("PATCH", "/api/v1/namespaces/" + ns_,
                                   Json{{"metadata", {{"labels", {{"owner", owner_}}}}}}.dump(),
                                   "application/merge-patch+json");
    ASSERT_TRUE(patched.ok() && patched->status == 200)
        << (patched.ok() ? patched->body : patched.error().message);
    auto other = createNamespace(*admin_, uniqueNamespaceName());
    ASSERT_TRUE(other.ok()) << other.error().message;
    other_ = *other;
    ghost_ = uniqueNamespaceName();  // never created
  }

  fs::path dir_;
  std::string owner_, other_, ghost_;
};

class KwctlContext : public KwctlContextBase, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    KwctlContextBase::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto put = [&](const Json& object, const std::string& collection) {
      create(collection, object);
    };
    put(serviceObject(ns_, "svc-1"), "/api/v1/namespaces/" + ns_ + "/services");
    put(serviceObject(ns_, "svc-2"), "/api/v1/namespaces/" + ns_ + "/services");
    put(serviceObject(other_, "svc-3"), "/api/v1/namespaces/" + other_ + "/services");
    put(ingressObject(ns_, "ing-1", "a.example.com"),
        "/apis/networking.k8s.io/v1/namespaces/" + ns_ + "/ingresses");
    put(secretObject(ns_, "secret-1"), "/api/v1/namespaces/" + ns_ + "/secrets");
  }

  std::string policy() const { return GetParam() ? "wasi_host_caller" : "host_caller"; }

  static Json call(const std::string& ns, const std::string& op, const Json& payload) {
    Json s = {{"binding", "kubewarden"}, {"namespace", ns}, {"operation", op}};
    if (!payload.is_null()) s["payload"] = payload;
    return s;
  }

  KwctlResult run(const Json& settings, std::vector<std::string> args = {"--allow-context-aware"}) {
    return kwctlRun(dir_, annotatedGuest(policy()), podRequest(ns_), settings, args,
                    env_.kubeconfig.string());
  }

  // The reply of an accepted host_caller run, parsed.
  Json acceptedReply(const KwctlResult& r) {
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.response.value("allowed", false), true) << r.out << r.err;
    return Json::parse(statusMessage(r.response), nullptr, false);
  }
};

TEST_P(KwctlContext, ListResourcesByNamespaceReturnsThatNamespacesObjects) {
  auto r = run(call("kubernetes", "list_resources_by_namespace",
                    {{"api_version", "v1"},
                     {"kind", "Service"},
                     {"namespace", ns_},
                     {"label_selector", nullptr},
                     {"field_selector", nullptr}}));
  Json list = acceptedReply(r);
  EXPECT_EQ(namesIn(list, {ns_, other_}), (std::vector<std::string>{"svc-1", "svc-2"})) << r.out;
  for (const Json& item : list.value("items", Json::array())) {
    EXPECT_EQ(item["metadata"]["namespace"], ns_);
    EXPECT_EQ(item["spec"]["ports"][0]["port"], 80);
  }
}

TEST_P(KwctlContext, ListResourcesAllReturnsEveryNamespace) {
  auto r = run(call("kubernetes", "list_resources_all",
                    {{"api_version", "v1"},
                     {"kind", "Namespace"},
                     {"label_selector", nullptr},
                     {"field_selector", nullptr}}));
  EXPECT_EQ(namesIn(acceptedReply(r), {ns_, other_}),
            (std::vector<std::string>{std::min(ns_, other_), std::max(ns_, other_)}))
      << r.out;

  auto labelled = run(call("kubernetes", "list_resources_all",
                           {{"api_version", "v1"},
                            {"kind", "Namespace"},
                            {"label_selector", "owner=" + owner_},
                            {"field_selector", nullptr}}));
  Json only = acceptedReply(labelled);
  ASSERT_EQ(only["items"].size(), 1u) << labelled.out;
  EXPECT_EQ(only["items"][0]["metadata"]["name"], ns_);

  auto services =
      run(call("kubernetes", "list_resources_all", {{"api_version", "v1"}, {"kind", "Service"}}));
  EXPECT_EQ(namesIn(acceptedReply(services), {ns_, other_}),
            (std::vector<std::string>{"svc-1", "svc-2", "svc-3"}))
      << services.out;
}

TEST_P(KwctlContext, GetResourceReturnsTheObject) {
  auto ns = run(call("kubernetes", "get_resource",
                     {{"api_version", "v1"},
                      {"kind", "Namespace"},
                      {"name", ns_},
                      {"namespace", nullptr},
                      {"disable_cache", false}}));
  Json obj = acceptedReply(ns);
  EXPECT_EQ(obj["metadata"]["name"], ns_) << ns.out;
  EXPECT_EQ(obj["metadata"]["labels"]["owner"], owner_) << ns.out;

  auto ing = run(call("kubernetes", "get_resource",
                      {{"api_version", "networking.k8s.io/v1"},
                       {"kind", "Ingress"},
                       {"name", "ing-1"},
                       {"namespace", ns_},
                       {"disable_cache", true}}));
  Json ingress = acceptedReply(ing);
  EXPECT_EQ(ingress["spec"]["rules"][0]["host"], "a.example.com") << ing.out;

  auto missing = run(call("kubernetes", "get_resource",
                          {{"api_version", "v1"},
                           {"kind", "Namespace"},
                           {"name", ghost_},
                           {"namespace", nullptr},
                           {"disable_cache", false}}));
  EXPECT_EQ(missing.response.value("allowed", true), false) << missing.out << missing.err;
  EXPECT_EQ(statusMessage(missing.response).rfind("host error: ", 0), 0u) << missing.out;
}

TEST_P(KwctlContext, EveryKubernetesOperationIsDeniedOutsideTheAllowList) {
  const Json by_ns = {{"api_version", "v1"}, {"kind", "Secret"}, {"namespace", ns_}};
  const Json all = {{"api_version", "v1"}, {"kind", "Secret"}};
  const Json get = {{"api_version", "v1"},
                    {"kind", "Secret"},
                    {"name", "secret-1"},
                    {"namespace", ns_},
                    {"disable_cache", false}};
  for (const auto& [op, payload] :
       std::vector<std::pair<std::string, Json>>{{"list_resources_by_namespace", by_ns},
                                                 {"list_resources_all", all},
                                                 {"get_resource", get}}) {
    auto r = run(call("kubernetes", op, payload));
    EXPECT_EQ(r.response.value("allowed", true), false) << op << ": " << r.out << r.err;
    EXPECT_EQ(statusMessage(r.response), "host error: " + deniedText("v1", "Secret")) << op;
  }
}

TEST_P(KwctlContext, WithoutAllowContextAwareNothingIsGranted) {
  auto r = run(
      call("kubernetes", "list_resources_all", {{"api_version", "v1"}, {"kind", "Namespace"}}), {});
  EXPECT_EQ(r.response.value("allowed", true), false) << r.out << r.err;
  EXPECT_EQ(statusMessage(r.response), "host error: " + deniedText("v1", "Namespace"));
}

TEST_P(KwctlContext, DnsLookupOfLocalhost) {
  auto r = run(call("net", "v1/dns_lookup_host", "localhost"));
  Json reply = acceptedReply(r);
  ASSERT_TRUE(reply.contains("ips")) << r.out;
  bool loopback = false;
  for (const Json& ip : reply["ips"]) loopback |= ip == "127.0.0.1" || ip == "::1";
  EXPECT_TRUE(loopback) << reply.dump();
}

TEST_P(KwctlContext, CertificateTrustFollowsTheGivenChain) {
  // A CA, a code-signing leaf it issued (upstream requires the code-signing EKU), and an
  // unrelated CA.
  auto sh = [&](const std::string& cmd) {
    return runCommand("cd " + shellQuote(dir_.string()) + " && " + cmd + " >/dev/null 2>&1").status;
  };
  writeFile(dir_ / "leaf.ext", "extendedKeyUsage=codeSigning\n");
  ASSERT_EQ(sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ctx-ca "
               "-keyout ca.key -out ca.pem"),
            0);
  ASSERT_EQ(sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
               "-keyout other.key -out other.pem"),
            0);
  ASSERT_EQ(sh("openssl req -newkey rsa:2048 -nodes -subj /CN=ctx-leaf -keyout leaf.key "
               "-out leaf.csr && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key "
               "-CAcreateserial -days 1 -extfile leaf.ext -out leaf.pem"),
            0);
  auto cert = [&](const std::string& file) {
    std::string pem = readText(dir_ / file);
    return Json{{"encoding", "Pem"}, {"data", std::vector<uint8_t>(pem.begin(), pem.end())}};
  };
  auto trusted = run(call("crypto", "v1/is_certificate_trusted",
                          {{"cert", cert("leaf.pem")},
                           {"cert_chain", Json::array({cert("ca.pem")})},
                           {"not_after", nullptr}}));
  Json yes = acceptedReply(trusted);
  EXPECT_EQ(yes.value("trusted", false), true) << trusted.out;

  auto untrusted = run(call("crypto", "v1/is_certificate_trusted",
                            {{"cert", cert("leaf.pem")},
                             {"cert_chain", Json::array({cert("other.pem")})},
                             {"not_after", nullptr}}));
  Json no = acceptedReply(untrusted);
  EXPECT_EQ(no.value("trusted", true), false) << untrusted.out;
  EXPECT_FALSE(no.value("reason", "").empty()) << untrusted.out;

  auto bad_time =
      run(call("crypto", "v1/is_certificate_trusted",
               {{"cert", cert("leaf.pem")}, {"cert_chain", nullptr}, {"not_after", "tomorrow"}}));
  std::string message = statusMessage(bad_time.response);
  EXPECT_EQ(message.rfind("host error: ", 0), 0u) << bad_time.out << bad_time.err;
  EXPECT_NE(message.find("Timestamp not_after is not in RFC3339 format"), std::string::npos)
      << message;
}

TEST_P(KwctlContext, TracingLogIsAccepted) {
  auto r = run(call("tracing", "log", {{"level", "info"}, {"message", "hello from ctx"}}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.response.value("allowed", false), true) << r.out << r.err;
  // The reply is empty: the policy's log line goes to the host's log, not back to the guest.
  EXPECT_EQ(statusMessage(r.response), "");
}

TEST_P(KwctlContext, UnknownCapabilityIsAnError) {
  auto r = run(call("nope", "v1/nothing", nullptr));
  EXPECT_EQ(r.response.value("allowed", true), false) << r.out << r.err;
  EXPECT_NE(statusMessage(r.response).find("nope"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Flavours, KwctlContext, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Wasi" : "Wapc"; });

// --- policies whose verdicts depend on the cluster --------------------------------------------

class KwctlContextVerdicts : public KwctlContextBase {
 protected:
  KwctlResult run(const std::string& policy, const std::string& ns, const Json& settings,
                  std::vector<std::string> args = {"--allow-context-aware"}) {
    return kwctlRun(dir_, annotatedGuest(policy), podRequest(ns, "uid-" + ns), settings, args,
                    env_.kubeconfig.string());
  }
};

TEST_F(KwctlContextVerdicts, NamespaceLabelPolicyInBothFlavours) {
  for (std::string policy : {"ctx_namespace_label", "wasi_ctx_namespace_label"}) {
    Json s = {{"required_label", "owner"}};
    auto a = run(policy, ns_, s);
    EXPECT_EQ(a.response.value("allowed", false), true) << policy << a.out << a.err;
    EXPECT_EQ(a.response.value("uid", ""), "uid-" + ns_);
    auto b = run(policy, other_, s);
    EXPECT_EQ(statusMessage(b.response),
              "namespace '" + other_ + "' does not have the required label 'owner'")
        << policy << b.out << b.err;
    auto ghost = run(policy, ghost_, s);
    EXPECT_EQ(statusMessage(ghost.response), "namespace '" + ghost_ + "' not found")
        << policy << ghost.out;
  }
}

TEST_F(KwctlContextVerdicts, OpaPolicySeesTheClusterNamespaces) {
  auto known = run("opa_ctx_namespace", other_, Json::object());
  EXPECT_EQ(known.status, 0) << known.err;
  EXPECT_EQ(known.response.value("allowed", false), true) << known.out << known.err;
  EXPECT_EQ(known.response.value("uid", ""), "uid-" + other_);
  auto ghost = run("opa_ctx_namespace", ghost_, Json::object());
  EXPECT_EQ(ghost.response.value("allowed", true), false) << ghost.out << ghost.err;
  EXPECT_EQ(statusMessage(ghost.response),
            "namespace '" + ghost_ + "' is not in data.kubernetes.namespaces");
  // Without --allow-context-aware the context stays empty: even a real Namespace is unknown.
  auto ungranted = run("opa_ctx_namespace", ns_, Json::object(), {});
  EXPECT_EQ(ungranted.response.value("allowed", true), false) << ungranted.out << ungranted.err;
}

TEST_F(KwctlContextVerdicts, GatekeeperPolicySeesTheClusterInventory) {
  auto known = run("gatekeeper_ctx_namespace", ns_, Json::object());
  EXPECT_EQ(known.status, 0) << known.err;
  EXPECT_EQ(known.response.value("allowed", false), true) << known.out << known.err;
  auto ghost = run("gatekeeper_ctx_namespace", ghost_, Json::object());
  EXPECT_EQ(ghost.response.value("allowed", true), false) << ghost.out << ghost.err;
  EXPECT_EQ(statusMessage(ghost.response), "namespace '" + ghost_ + "' is not in the inventory");
}

// --- record against the cluster, replay without it ---------------------------------------------

TEST_F(KwctlContextVerdicts, RecordedSessionReplaysWithoutTheCluster) {
  Json settings = {{"binding", "kubewarden"},
                   {"namespace", "kubernetes"},
                   {"operation", "get_resource"},
                   {"payload",
                    {{"api_version", "v1"},
                     {"kind", "Namespace"},
                     {"name", ns_},
                     {"namespace", nullptr},
                     {"disable_cache", false}}}};
  fs::path session = dir_ / "session.yml";
  for (std::string policy : {"host_caller", "wasi_host_caller"}) {
    SCOPED_TRACE(policy);
    fs::remove(session);
    auto recorded = kwctlRun(
        dir_, annotatedGuest(policy), podRequest(ns_), settings,
        {"--allow-context-aware", "--record-host-capabilities-interactions", session.string()},
        env_.kubeconfig.string());
    ASSERT_EQ(recorded.status, 0) << recorded.err;
    ASSERT_EQ(recorded.response.value("allowed", false), true) << recorded.out << recorded.err;
    Json object = Json::parse(statusMessage(recorded.response), nullptr, false);
    EXPECT_EQ(object["metadata"]["labels"]["owner"], owner_);

    // Upstream's session format: a list of Exchanges with the typed request as YAML text.
    YAML::Node doc = YAML::LoadFile(session.string());
    ASSERT_TRUE(doc.IsSequence()) << readText(session);
    ASSERT_EQ(doc.size(), 1u) << readText(session);
    EXPECT_EQ(doc[0]["type"].as<std::string>(""), "Exchange");
    std::string request = doc[0]["request"].as<std::string>("");
    EXPECT_EQ(request.rfind("!KubernetesGetResource\n", 0), 0u) << request;
    EXPECT_NE(request.find("name: " + ns_), std::string::npos) << request;
    EXPECT_EQ(doc[0]["response"]["type"].as<std::string>(""), "Success");
    EXPECT_EQ(Json::parse(doc[0]["response"]["payload"].as<std::string>(""), nullptr, false),
              object);

    // No cluster at all: a replay must not need one.
    std::vector<std::string> replay_args = {"--replay-host-capabilities-interactions",
                                            session.string(), "--allow-context-aware"};
    std::string no_cluster = (dir_ / "no-such-kubeconfig").string();
    auto replayed =
        kwctlRun(dir_, annotatedGuest(policy), podRequest(ns_), settings, replay_args, no_cluster);
    EXPECT_EQ(replayed.status, 0) << replayed.err;
    EXPECT_EQ(replayed.response, recorded.response) << replayed.out << replayed.err;

    // A different request than the recorded one is refused, not answered.
    Json other = settings;
    other["payload"]["name"] = other_;
    auto mismatch =
        kwctlRun(dir_, annotatedGuest(policy), podRequest(ns_), other, replay_args, no_cluster);
    EXPECT_EQ(mismatch.response.value("allowed", true), false) << mismatch.out << mismatch.err;
  }
}

}  // namespace
}  // namespace kw::test
