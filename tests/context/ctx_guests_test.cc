// Our context-aware guest policies (guest/policies/{host_caller, ctx_namespace_label,
// opa_ctx_namespace, gatekeeper_ctx_namespace} and their WASI flavours) against an in-process
// cluster double: what they send to the host, and the verdicts they draw from its replies.
// The end-to-end tests (context_kwctl_test.cc, context_server_test.cc) use the real host.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "opa/opa_abi.h"
#include "policy/evaluator.h"
#include "policy/rego_runtime.h"
#include "support/test_env.h"

namespace kw::context {
namespace {

using admission::Json;
using admission::OrderedJson;
using policy::ExecutionMode;
using Clock = std::chrono::steady_clock;

std::shared_ptr<wasm::Engine> engine() {
  static auto e = wasm::createV8Engine({wasm::CompileTier::Optimized, 256ull << 20});
  return e;
}

policy::PolicyModulePtr guestModule(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, policy::PolicyModulePtr> cache;
  std::lock_guard lock(mu);
  auto& slot = cache[name];
  if (!slot) {
    auto bytes = test::readFile(test::guestPath(name));
    EXPECT_FALSE(bytes.empty()) << "guest not built: " << test::guestPath(name);
    auto loaded = policy::loadModule(*engine(), bytes);
    EXPECT_TRUE(loaded.ok()) << name << ": " << (loaded ? "" : loaded.error().message);
    if (loaded) slot = *loaded;
  }
  return slot;
}

// team-a carries owner=alice, team-b has no labels; `extra` Namespaces are appended unlabelled.
Json namespaceList(int extra = 0) {
  Json items = Json::array();
  items.push_back({{"apiVersion", "v1"},
                   {"kind", "Namespace"},
                   {"metadata", {{"name", "team-a"}, {"labels", {{"owner", "alice"}}}}}});
  items.push_back(
      {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "team-b"}}}});
  for (int i = 0; i < extra; ++i) {
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Namespace"},
                     {"metadata", {{"name", "ns-" + std::to_string(i)}}}});
  }
  return {{"apiVersion", "v1"},
          {"kind", "NamespaceList"},
          {"metadata", {{"resourceVersion", "7"}}},
          {"items", items}};
}

// Answers list_resources_all for v1 Namespace, echoes net/v1/dns_lookup_host, fails the rest;
// remembers every call as "binding/ns/op|payload".
class ClusterDouble : public host::Dispatcher {
 public:
  Result<std::string> dispatch(const host::HostCall& call) override {
    std::string key =
        std::string(call.binding) + "/" + std::string(call.ns) + "/" + std::string(call.operation);
    {
      std::lock_guard lock(mu_);
      calls_.push_back(key + "|" + std::string(call.payload));
    }
    if (key == "kubewarden/kubernetes/list_resources_all") {
      Json p = Json::parse(call.payload, nullptr, false);
      if (p.value("api_version", "") == "v1" && p.value("kind", "") == "Namespace" && !fail_) {
        return namespaceList(extra_).dump();
      }
      return makeError("cluster double: cannot list " + std::string(call.payload));
    }
    if (key == "kubewarden/net/v1/dns_lookup_host") {
      return Json{{"ips", {"127.0.0.1"}}, {"asked", Json::parse(call.payload, nullptr, false)}}
          .dump();
    }
    return makeError("cluster double has no " + key);
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  bool fail_ = false;
  int extra_ = 0;

 private:
  std::mutex mu_;
  std::vector<std::string> calls_;
};

Json podRequest(const std::string& ns) {
  Json container = {{"name", "c"}, {"image", "nginx"}};
  Json r = {{"uid", "uid-" + ns},
            {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
            {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
            {"operation", "CREATE"},
            {"name", "web"},
            {"object",
             {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "web"}}},
              {"spec", {{"containers", Json::array({container})}}}}}};
  if (!ns.empty()) {
    r["namespace"] = ns;
    r["object"]["metadata"]["namespace"] = ns;
  }
  return r;
}

std::string statusMessage(const OrderedJson& r) {
  if (!r.contains("status") || !r["status"].contains("message")) return "";
  return r["status"]["message"].get<std::string>();
}

// waPC and WASI flavours of the same rule run under every test.
class ContextGuests : public ::testing::TestWithParam<bool> {
 protected:
  bool wasi() const { return GetParam(); }
  std::string name(const std::string& base) const { return wasi() ? "wasi_" + base : base; }

  policy::PolicyConfig config(const std::string& base, const Json& settings) const {
    policy::PolicyConfig c;
    c.id = "ctx-" + base;
    c.module = guestModule(name(base));
    c.mode = wasi() ? ExecutionMode::Wasi : ExecutionMode::KubewardenWapc;
    c.settings_json = settings.dump();
    return c;
  }

  OrderedJson validate(const std::string& base, const Json& settings, const Json& request) {
    policy::Evaluator evaluator(engine(), &cluster_, std::chrono::seconds(20));
    std::string text = request.dump();
    return evaluator.validate(config(base, settings),
                              policy::Request{text, request.value("uid", ""), nullptr});
  }

  policy::SettingsValidation settings(const std::string& base, const Json& s) {
    policy::Evaluator evaluator(engine(), &cluster_, std::chrono::seconds(20));
    return evaluator.validateSettings(config(base, s));
  }

  ClusterDouble cluster_;
};

TEST_P(ContextGuests, HostCallerSendsAStringPayloadAsAJsonString) {
  Json s = {{"binding", "kubewarden"},
            {"namespace", "net"},
            {"operation", "v1/dns_lookup_host"},
            {"payload", "localhost"}};
  auto r = validate("host_caller", s, podRequest("team-a"));
  EXPECT_EQ(r["allowed"], true) << r.dump();
  Json reply = Json::parse(statusMessage(r), nullptr, false);
  EXPECT_EQ(reply["asked"], "localhost") << r.dump();
  EXPECT_EQ(reply["ips"], Json::array({"127.0.0.1"}));
  EXPECT_EQ(cluster_.calls(),
            std::vector<std::string>{"kubewarden/net/v1/dns_lookup_host|\"localhost\""});
}

TEST_P(ContextGuests, HostCallerSendsAnObjectPayloadAsCompactJson) {
  Json payload = {{"api_version", "v1"}, {"kind", "Namespace"}};
  Json s = {{"binding", "kubewarden"},
            {"namespace", "kubernetes"},
            {"operation", "list_resources_all"},
            {"payload", payload}};
  auto r = validate("host_caller", s, podRequest("team-a"));
  EXPECT_EQ(r["allowed"], true) << r.dump();
  EXPECT_EQ(Json::parse(statusMessage(r), nullptr, false), namespaceList()) << r.dump();
  ASSERT_EQ(cluster_.calls().size(), 1u);
  EXPECT_EQ(cluster_.calls()[0], "kubewarden/kubernetes/list_resources_all|" + payload.dump());
}

TEST_P(ContextGuests, HostCallerRejectsWithTheHostError) {
  Json s = {{"binding", "kubewarden"}, {"namespace", "oci"}, {"operation", "v1/verify"}};
  auto r = validate("host_caller", s, podRequest("team-a"));
  EXPECT_EQ(r["allowed"], false) << r.dump();
  EXPECT_EQ(statusMessage(r), "host error: cluster double has no kubewarden/oci/v1/verify");
  // No payload setting: an empty payload goes out.
  EXPECT_EQ(cluster_.calls(), std::vector<std::string>{"kubewarden/oci/v1/verify|"});
}

TEST_P(ContextGuests, HostCallerSettingsNeedBindingNamespaceAndOperation) {
  EXPECT_TRUE(
      settings("host_caller", {{"binding", "a"}, {"namespace", "b"}, {"operation", "c"}}).valid);
  auto missing = settings("host_caller", {{"binding", "a"}, {"operation", "c"}});
  EXPECT_FALSE(missing.valid);
  EXPECT_EQ(missing.message.value_or(""), "settings: `namespace` must be a string");
  auto wrong_type = settings("host_caller", {{"binding", 1}, {"namespace", "b"}});
  EXPECT_FALSE(wrong_type.valid);
  EXPECT_EQ(wrong_type.message.value_or(""), "settings: `binding` must be a string");
}

TEST_P(ContextGuests, NamespaceLabelVerdictsFollowTheListedNamespaces) {
  Json s = {{"required_label", "owner"}};
  auto labelled = validate("ctx_namespace_label", s, podRequest("team-a"));
  EXPECT_EQ(labelled["allowed"], true) << labelled.dump();
  EXPECT_EQ(labelled["uid"], "uid-team-a");

  auto unlabelled = validate("ctx_namespace_label", s, podRequest("team-b"));
  EXPECT_EQ(unlabelled["allowed"], false) << unlabelled.dump();
  EXPECT_EQ(statusMessage(unlabelled),
            "namespace 'team-b' does not have the required label 'owner'");

  auto unknown = validate("ctx_namespace_label", s, podRequest("ghost"));
  EXPECT_EQ(unknown["allowed"], false) << unknown.dump();
  EXPECT_EQ(statusMessage(unknown), "namespace 'ghost' not found");

  auto other_label =
      validate("ctx_namespace_label", {{"required_label", "team"}}, podRequest("team-a"));
  EXPECT_EQ(statusMessage(other_label),
            "namespace 'team-a' does not have the required label 'team'");

  const std::string expected_call =
      "kubewarden/kubernetes/list_resources_all|"
      R"({"api_version":"v1","kind":"Namespace","label_selector":null,"field_selector":null})";
  EXPECT_EQ(cluster_.calls(), std::vector<std::string>(4, expected_call));
}

TEST_P(ContextGuests, NamespaceLabelFindsANamespaceInALargeList) {
  cluster_.extra_ = 3000;
  auto r = validate("ctx_namespace_label", {{"required_label", "owner"}}, podRequest("ns-2999"));
  EXPECT_EQ(statusMessage(r), "namespace 'ns-2999' does not have the required label 'owner'");
  auto a = validate("ctx_namespace_label", {{"required_label", "owner"}}, podRequest("team-a"));
  EXPECT_EQ(a["allowed"], true) << a.dump();
}

TEST_P(ContextGuests, NamespaceLabelAcceptsClusterScopedAndReportsListFailures) {
  Json s = {{"required_label", "owner"}};
  auto cluster_scoped = validate("ctx_namespace_label", s, podRequest(""));
  EXPECT_EQ(cluster_scoped["allowed"], true) << cluster_scoped.dump();
  EXPECT_TRUE(cluster_.calls().empty());

  cluster_.fail_ = true;
  auto failed = validate("ctx_namespace_label", s, podRequest("team-a"));
  EXPECT_EQ(failed["allowed"], false);
  EXPECT_EQ(statusMessage(failed).rfind("cannot list namespaces: cluster double: cannot list", 0),
            0u)
      << failed.dump();

  EXPECT_TRUE(settings("ctx_namespace_label", s).valid);
  auto bad = settings("ctx_namespace_label", {{"required_label", ""}});
  EXPECT_FALSE(bad.valid);
  EXPECT_EQ(bad.message.value_or(""), "settings: `required_label` must be a non-empty string");
}

INSTANTIATE_TEST_SUITE_P(Flavours, ContextGuests, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Wasi" : "Wapc"; });

// --- Rego ABI guests, driven by the host's OPA ABI with hand-made data documents -------------

class ContextRegoGuests : public ::testing::Test {
 protected:
  static std::unique_ptr<opa::OpaInstance> instance(const std::string& name) {
    auto m = guestModule(name);
    if (!m) return nullptr;
    opa::OpaInstance::Options options;
    options.policy_id = name;
    options.deadline = Clock::now() + std::chrono::seconds(20);
    auto created = opa::OpaInstance::create(*engine(), m->compiled, std::move(options));
    if (auto* err = std::get_if<wasm::CallError>(&created)) {
      ADD_FAILURE() << name << ": " << err->message;
      return nullptr;
    }
    return std::move(std::get<std::unique_ptr<opa::OpaInstance>>(created));
  }

  static std::string evaluate(opa::OpaInstance& inst, const Json& data, const Json& input) {
    auto set = inst.setData(data.dump());
    if (auto* err = std::get_if<wasm::CallError>(&set)) return "error: " + err->message;
    auto r = inst.evaluate(0, input.dump());
    if (auto* err = std::get_if<wasm::CallError>(&r)) return "error: " + err->message;
    return std::get<std::string>(r);
  }
};

TEST_F(ContextRegoGuests, OpaGuestDeclaresItsEntrypointAndNoBuiltins) {
  auto inst = instance("opa_ctx_namespace");
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->info()->entrypoints, (std::map<std::string, int32_t>{{"policy/main", 0}}));
  EXPECT_TRUE(inst->info()->missingBuiltins().empty());
  auto gk = instance("gatekeeper_ctx_namespace");
  ASSERT_TRUE(gk);
  EXPECT_EQ(gk->info()->entrypoints, (std::map<std::string, int32_t>{{"policy/violation", 0}}));
}

TEST_F(ContextRegoGuests, OpaGuestAllowsOnlyKnownNamespaces) {
  auto inst = instance("opa_ctx_namespace");
  ASSERT_TRUE(inst);
  Json data = {{"some_setting", 1},
               {"kubernetes", {{"namespaces", {{"team-a", namespaceList()["items"][0]}}}}}};
  auto known = evaluate(*inst, data, {{"request", podRequest("team-a")}});
  EXPECT_EQ(Json::parse(known, nullptr, false),
            Json::parse(R"([{"result":{"response":{"uid":"uid-team-a","allowed":true}}}])"))
      << known;
  // Same instance again: the heap was rewound by the host, the answer must not change.
  auto unknown = evaluate(*inst, data, {{"request", podRequest("ghost")}});
  EXPECT_EQ(Json::parse(unknown, nullptr, false),
            Json::parse(R"([{"result":{"response":{"uid":"uid-ghost","allowed":false,
              "status":{"message":"namespace 'ghost' is not in data.kubernetes.namespaces"}}}}])"))
      << unknown;
  auto response = policy::opaAdmissionResponse(unknown, "host-uid");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ((*response)["allowed"], false);
  EXPECT_EQ((*response)["uid"], "host-uid");

  auto no_context = evaluate(*inst, Json::object(), {{"request", podRequest("team-a")}});
  EXPECT_NE(no_context.find("\"allowed\":false"), std::string::npos) << no_context;
}

TEST_F(ContextRegoGuests, OpaGuestHandlesThousandsOfNamespacesRepeatedly) {
  auto inst = instance("opa_ctx_namespace");
  ASSERT_TRUE(inst);
  Json namespaces = Json::object();
  const Json list = namespaceList(5000);  // a named list: items of a temporary would dangle
  for (const Json& item : list["items"]) {
    namespaces[item["metadata"]["name"].get<std::string>()] = item;
  }
  Json data = {{"kubernetes", {{"namespaces", namespaces}}}};
  for (int i = 0; i < 3; ++i) {
    auto r = evaluate(*inst, data, {{"request", podRequest("ns-4999")}});
    EXPECT_NE(r.find("\"allowed\":true"), std::string::npos) << r;
  }
}

TEST_F(ContextRegoGuests, OpaGuestRejectsBadJsonFromTheHost) {
  auto inst = instance("opa_ctx_namespace");
  ASSERT_TRUE(inst);
  auto set = inst->setData("{\"kubernetes\":");
  ASSERT_TRUE(std::holds_alternative<wasm::CallError>(set));
  EXPECT_EQ(std::get<wasm::CallError>(set).message, "the guest could not parse a JSON value");
}

TEST_F(ContextRegoGuests, GatekeeperGuestViolatesOutsideTheInventory) {
  auto inst = instance("gatekeeper_ctx_namespace");
  ASSERT_TRUE(inst);
  Json data = {
      {"inventory",
       {{"cluster", {{"v1", {{"Namespace", {{"team-a", namespaceList()["items"][0]}}}}}}}}}};
  auto input = [](const std::string& ns) {
    return Json{{"parameters", Json::object()}, {"review", podRequest(ns)}};
  };
  auto known = evaluate(*inst, data, input("team-a"));
  EXPECT_EQ(Json::parse(known, nullptr, false), Json::parse(R"([{"result":[]}])")) << known;
  auto unknown = evaluate(*inst, data, input("ghost"));
  EXPECT_EQ(Json::parse(unknown, nullptr, false),
            Json::parse(R"([{"result":[{"msg":"namespace 'ghost' is not in the inventory"}]}])"))
      << unknown;
  auto verdict = policy::gatekeeperAdmissionResponse(unknown, "u1");
  EXPECT_EQ(verdict["allowed"], false);
  EXPECT_EQ(verdict["status"]["message"], "namespace 'ghost' is not in the inventory");
  EXPECT_EQ(policy::gatekeeperAdmissionResponse(known, "u1")["allowed"], true);
}

}  // namespace
}  // namespace kw::context
