// End to end: `kwctl run --allow-context-aware` with KUBECONFIG pointing at the kube-fake API
// server, through our host_caller policies (waPC and WASI) for every Kubernetes operation, the
// allow-list's denied path, DNS, certificate trust and tracing; and the Rego-ABI context
// policies, whose verdicts follow the fake's Namespaces (spec §1.9, §2.4, §2.5, §2.6, §3).
#include <gtest/gtest.h>

#include "context/context_env.h"

namespace kw::context_test {
namespace {

constexpr char kDenied[] =
    "Policy has not been granted access to Kubernetes {}/{} resources. The violation has been "
    "reported.";

std::string deniedText(const std::string& api_version, const std::string& kind) {
  std::string s = kDenied;
  s.replace(s.find("{}"), 2, api_version);
  s.replace(s.find("{}"), 2, kind);
  return s;
}

// One fake cluster for the whole suite: starting it once keeps the suite short.
class ContextKwctl : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    if (!haveKubeFake()) return;
    fake_ = new KubeFake();
    if (!fake_->waitReady()) {
      ready_error_ = "kube-fake did not become ready:\n" + fake_->log();
      return;
    }
    for (const Json& obj :
         {namespaceObject("ctx-a", {{"owner", "alice"}}), namespaceObject("ctx-b"),
          serviceObject("ctx-a", "svc-1"), serviceObject("ctx-a", "svc-2"),
          serviceObject("ctx-b", "svc-3"), ingressObject("ctx-a", "ing-1", "a.example.com"),
          secretObject("ctx-a", "secret-1")}) {
      int status = fake_->create(obj);
      if (status != 201 && status != 200) {
        ready_error_ += "cannot create " + obj.dump() + ": HTTP " + std::to_string(status) + "\n";
      }
    }
  }
  static void TearDownTestSuite() {
    delete fake_;
    fake_ = nullptr;
  }

  void SetUp() override {
    if (!haveKubeFake()) GTEST_SKIP() << "kube-fake is not built: " << test::binDir();
    ASSERT_TRUE(ready_error_.empty()) << ready_error_;
    dir_ = makeTempDir("kwctl");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string policy() const { return GetParam() ? "wasi_host_caller" : "host_caller"; }

  static Json call(const std::string& ns, const std::string& op, const Json& payload) {
    Json s = {{"binding", "kubewarden"}, {"namespace", ns}, {"operation", op}};
    if (!payload.is_null()) s["payload"] = payload;
    return s;
  }

  KwctlResult run(const Json& settings, std::vector<std::string> args = {"--allow-context-aware"},
                  const std::string& policy_name = "") {
    return kwctlRun(dir_, annotatedGuest(policy_name.empty() ? policy() : policy_name),
                    podRequest("ctx-a"), settings, args, fake_->kubeconfig().string());
  }

  // The reply of an accepted host_caller run, parsed.
  Json acceptedReply(const KwctlResult& r) {
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.response.value("allowed", false), true) << r.out << r.err;
    return Json::parse(statusMessage(r.response), nullptr, false);
  }

  static KubeFake* fake_;
  static std::string ready_error_;
  fs::path dir_;
};

KubeFake* ContextKwctl::fake_ = nullptr;
std::string ContextKwctl::ready_error_;

TEST_P(ContextKwctl, ListResourcesByNamespaceReturnsThatNamespacesObjects) {
  auto r = run(call("kubernetes", "list_resources_by_namespace",
                    {{"api_version", "v1"},
                     {"kind", "Service"},
                     {"namespace", "ctx-a"},
                     {"label_selector", nullptr},
                     {"field_selector", nullptr}}));
  Json list = acceptedReply(r);
  EXPECT_EQ(itemNames(list), (std::vector<std::string>{"svc-1", "svc-2"})) << r.out;
  for (const Json& item : list.value("items", Json::array())) {
    EXPECT_EQ(item["metadata"]["namespace"], "ctx-a");
    EXPECT_EQ(item["spec"]["ports"][0]["port"], 80);
  }
}

TEST_P(ContextKwctl, ListResourcesAllReturnsEveryNamespace) {
  auto r = run(call("kubernetes", "list_resources_all",
                    {{"api_version", "v1"},
                     {"kind", "Namespace"},
                     {"label_selector", nullptr},
                     {"field_selector", nullptr}}));
  auto names = itemNames(acceptedReply(r));
  EXPECT_NE(std::find(names.begin(), names.end(), "ctx-a"), names.end()) << r.out;
  EXPECT_NE(std::find(names.begin(), names.end(), "ctx-b"), names.end()) << r.out;

  auto labelled = run(call("kubernetes", "list_resources_all",
                           {{"api_version", "v1"},
                            {"kind", "Namespace"},
                            {"label_selector", "owner=alice"},
                            {"field_selector", nullptr}}));
  EXPECT_EQ(itemNames(acceptedReply(labelled)), std::vector<std::string>{"ctx-a"}) << labelled.out;

  auto services =
      run(call("kubernetes", "list_resources_all", {{"api_version", "v1"}, {"kind", "Service"}}));
  EXPECT_EQ(itemNames(acceptedReply(services)),
            (std::vector<std::string>{"svc-1", "svc-2", "svc-3"}))
      << services.out;
}

TEST_P(ContextKwctl, GetResourceReturnsTheObject) {
  auto ns = run(call("kubernetes", "get_resource",
                     {{"api_version", "v1"},
                      {"kind", "Namespace"},
                      {"name", "ctx-a"},
                      {"namespace", nullptr},
                      {"disable_cache", false}}));
  Json obj = acceptedReply(ns);
  EXPECT_EQ(obj["metadata"]["name"], "ctx-a") << ns.out;
  EXPECT_EQ(obj["metadata"]["labels"]["owner"], "alice") << ns.out;

  auto ing = run(call("kubernetes", "get_resource",
                      {{"api_version", "networking.k8s.io/v1"},
                       {"kind", "Ingress"},
                       {"name", "ing-1"},
                       {"namespace", "ctx-a"},
                       {"disable_cache", true}}));
  Json ingress = acceptedReply(ing);
  EXPECT_EQ(ingress["spec"]["rules"][0]["host"], "a.example.com") << ing.out;

  auto missing = run(call("kubernetes", "get_resource",
                          {{"api_version", "v1"},
                           {"kind", "Namespace"},
                           {"name", "ghost"},
                           {"namespace", nullptr},
                           {"disable_cache", false}}));
  EXPECT_EQ(missing.response.value("allowed", true), false) << missing.out << missing.err;
  EXPECT_EQ(statusMessage(missing.response).rfind("host error: ", 0), 0u) << missing.out;
}

TEST_P(ContextKwctl, EveryKubernetesOperationIsDeniedOutsideTheAllowList) {
  const Json by_ns = {{"api_version", "v1"}, {"kind", "Secret"}, {"namespace", "ctx-a"}};
  const Json all = {{"api_version", "v1"}, {"kind", "Secret"}};
  const Json get = {{"api_version", "v1"},
                    {"kind", "Secret"},
                    {"name", "secret-1"},
                    {"namespace", "ctx-a"},
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

TEST_P(ContextKwctl, WithoutAllowContextAwareNothingIsGranted) {
  auto r = run(
      call("kubernetes", "list_resources_all", {{"api_version", "v1"}, {"kind", "Namespace"}}), {});
  EXPECT_EQ(r.response.value("allowed", true), false) << r.out << r.err;
  EXPECT_EQ(statusMessage(r.response), "host error: " + deniedText("v1", "Namespace"));
}

TEST_P(ContextKwctl, DnsLookupOfLocalhost) {
  auto r = run(call("net", "v1/dns_lookup_host", "localhost"));
  Json reply = acceptedReply(r);
  ASSERT_TRUE(reply.contains("ips")) << r.out;
  bool loopback = false;
  for (const Json& ip : reply["ips"]) loopback |= ip == "127.0.0.1" || ip == "::1";
  EXPECT_TRUE(loopback) << reply.dump();
}

TEST_P(ContextKwctl, CertificateTrustFollowsTheGivenChain) {
  // A CA, a code-signing leaf it issued (upstream requires the code-signing EKU), and an
  // unrelated CA.
  auto sh = [&](const std::string& cmd) {
    return test::runCommand("cd " + shellQuote(dir_.string()) + " && " + cmd + " >/dev/null 2>&1")
        .status;
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

TEST_P(ContextKwctl, TracingLogIsAccepted) {
  auto r = run(call("tracing", "log", {{"level", "info"}, {"message", "hello from ctx"}}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.response.value("allowed", false), true) << r.out << r.err;
  // The reply is empty: the policy's log line goes to the host's log, not back to the guest.
  EXPECT_EQ(statusMessage(r.response), "");
}

TEST_P(ContextKwctl, UnknownCapabilityIsAnError) {
  auto r = run(call("nope", "v1/nothing", nullptr));
  EXPECT_EQ(r.response.value("allowed", true), false) << r.out << r.err;
  EXPECT_NE(statusMessage(r.response).find("nope"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Flavours, ContextKwctl, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Wasi" : "Wapc"; });

// --- policies whose verdicts depend on the cluster --------------------------------------------

class ContextKwctlVerdicts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveKubeFake()) GTEST_SKIP() << "kube-fake is not built: " << test::binDir();
    ASSERT_TRUE(fake_.waitReady()) << fake_.log();
    ASSERT_EQ(fake_.create(namespaceObject("ctx-a", {{"owner", "alice"}})), 201);
    ASSERT_EQ(fake_.create(namespaceObject("ctx-b")), 201);
    dir_ = makeTempDir("verdicts");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  KwctlResult run(const std::string& policy, const std::string& ns, const Json& settings,
                  std::vector<std::string> args = {"--allow-context-aware"}) {
    return kwctlRun(dir_, annotatedGuest(policy), podRequest(ns, "uid-" + ns), settings, args,
                    fake_.kubeconfig().string());
  }

  KubeFake fake_;
  fs::path dir_;
};

TEST_F(ContextKwctlVerdicts, NamespaceLabelPolicyInBothFlavours) {
  for (std::string policy : {"ctx_namespace_label", "wasi_ctx_namespace_label"}) {
    Json s = {{"required_label", "owner"}};
    auto a = run(policy, "ctx-a", s);
    EXPECT_EQ(a.response.value("allowed", false), true) << policy << a.out << a.err;
    EXPECT_EQ(a.response.value("uid", ""), "uid-ctx-a");
    auto b = run(policy, "ctx-b", s);
    EXPECT_EQ(statusMessage(b.response),
              "namespace 'ctx-b' does not have the required label 'owner'")
        << policy << b.out << b.err;
    auto ghost = run(policy, "ghost", s);
    EXPECT_EQ(statusMessage(ghost.response), "namespace 'ghost' not found") << policy << ghost.out;
  }
}

TEST_F(ContextKwctlVerdicts, OpaPolicySeesTheClusterNamespaces) {
  auto known = run("opa_ctx_namespace", "ctx-b", Json::object());
  EXPECT_EQ(known.status, 0) << known.err;
  EXPECT_EQ(known.response.value("allowed", false), true) << known.out << known.err;
  EXPECT_EQ(known.response.value("uid", ""), "uid-ctx-b");
  auto ghost = run("opa_ctx_namespace", "ghost", Json::object());
  EXPECT_EQ(ghost.response.value("allowed", true), false) << ghost.out << ghost.err;
  EXPECT_EQ(statusMessage(ghost.response),
            "namespace 'ghost' is not in data.kubernetes.namespaces");
  // Without --allow-context-aware the context stays empty: even a real Namespace is unknown.
  auto ungranted = run("opa_ctx_namespace", "ctx-a", Json::object(), {});
  EXPECT_EQ(ungranted.response.value("allowed", true), false) << ungranted.out << ungranted.err;
}

TEST_F(ContextKwctlVerdicts, GatekeeperPolicySeesTheClusterInventory) {
  auto known = run("gatekeeper_ctx_namespace", "ctx-a", Json::object());
  EXPECT_EQ(known.status, 0) << known.err;
  EXPECT_EQ(known.response.value("allowed", false), true) << known.out << known.err;
  auto ghost = run("gatekeeper_ctx_namespace", "ghost", Json::object());
  EXPECT_EQ(ghost.response.value("allowed", true), false) << ghost.out << ghost.err;
  EXPECT_EQ(statusMessage(ghost.response), "namespace 'ghost' is not in the inventory");
}

}  // namespace
}  // namespace kw::context_test
