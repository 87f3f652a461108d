#include "host/capability_dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fake_reader.h"
#include "host/certificate.h"
#include "host/live_handler.h"
#include "test_certs.h"

namespace kw::host {
namespace {

using nlohmann::json;
using test::FakeReader;

// A clock tests move by hand.
struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> ms = std::make_shared<std::atomic<int64_t>>(0);
  Clock fn() const {
    auto p = ms;
    return [p] { return std::chrono::steady_clock::time_point(std::chrono::milliseconds(*p)); };
  }
  void advance(std::chrono::milliseconds d) { *ms += d.count(); }
};

class HostDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reader_.addType({"v1", "Namespace"}, "namespaces", false);
    reader_.addType({"v1", "Pod"}, "pods", true);
    reader_.put({"v1", "Namespace"}, "", "ns1", R"({"metadata":{"name":"ns1"}})");
    reader_.put({"v1", "Pod"}, "ns1", "p1", R"({"metadata":{"name":"p1","namespace":"ns1"}})");
    reader_.put({"v1", "Pod"}, "ns2", "p2", R"({"metadata":{"name":"p2","namespace":"ns2"}})");
  }

  std::unique_ptr<CapabilityDispatcher> make(LiveServices s = {},
                                             std::shared_ptr<TaskPool> pool = nullptr) {
    s.kube = &reader_;
    s.clock = clock_.fn();
    DispatcherOptions o;
    o.handler = std::make_shared<LiveHandler>(std::move(s));
    o.pool = std::move(pool);
    o.reader = &reader_;
    auto d = std::make_unique<CapabilityDispatcher>(std::move(o));
    d->allowResources("policy", {{"v1", "Namespace"}, {"v1", "Pod"}});
    return d;
  }

  Result<std::string> call(CapabilityDispatcher& d, std::string_view ns, std::string_view op,
                           std::string_view payload, std::string_view policy = "policy") {
    return d.dispatch({policy, "kubewarden", ns, op, payload});
  }

  FakeReader reader_;
  ManualClock clock_;
};

TEST_F(HostDispatcherTest, UnknownCapabilitiesUseUpstreamErrors) {
  auto d = make();
  auto b = d->dispatch({"policy", "nope", "x", "y", ""});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "unknown binding: nope");
  auto n = call(*d, "weather", "v1/today", "");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, "unknown namespace: weather");
  auto o = call(*d, "net", "v2/dns_lookup_host", "\"x\"");
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().message, "unknown operation: v2/dns_lookup_host");
  auto k = d->dispatch({"policy", "kubernetes", "pods", "list", ""});
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message, "unknown namespace: pods");
}

TEST_F(HostDispatcherTest, TracingLogAnswersEmpty) {
  auto d = make();
  auto r = call(*d, "tracing", "log", R"({"level":"info","message":"hello","extra":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "");
  // A malformed log event is logged by the host, not a failed call.
  EXPECT_TRUE(call(*d, "tracing", "log", "not json"));
}

TEST_F(HostDispatcherTest, KubernetesOperationsReachTheReader) {
  auto d = make();
  auto all = call(*d, "kubernetes", "list_resources_all",
                  R"({"api_version":"v1","kind":"Namespace","label_selector":"a=b"})");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(json::parse(*all)["items"][0]["metadata"]["name"], "ns1");
  auto by_ns =
      call(*d, "kubernetes", "list_resources_by_namespace",
           R"({"api_version":"v1","kind":"Pod","namespace":"ns2","field_selector":"x=y"})");
  ASSERT_TRUE(by_ns);
  auto items = json::parse(*by_ns)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["metadata"]["name"], "p2");
  auto get = call(
      *d, "kubernetes", "get_resource",
      R"({"api_version":"v1","kind":"Pod","name":"p1","namespace":"ns1","disable_cache":true})");
  ASSERT_TRUE(get);
  EXPECT_EQ(json::parse(*get)["metadata"]["name"], "p1");
  auto missing =
      call(*d, "kubernetes", "get_resource",
           R"({"api_version":"v1","kind":"Namespace","name":"gone","disable_cache":false})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "Callback evaluation failure: Cannot find v1/Namespace named 'gone' inside of "
            "namespace ''");
  EXPECT_EQ(reader_.calls(),
            (std::vector<std::string>{"listAll v1/Namespace labels=a=b fields=",
                                      "listByNamespace v1/Pod ns=ns2 labels= fields=x=y",
                                      "get v1/Pod name=p1 ns=ns1 disable_cache=true",
                                      "get v1/Namespace name=gone ns= disable_cache=false"}));
}

TEST_F(HostDispatcherTest, EveryKubernetesOperationEnforcesTheAllowList) {
  auto d = make();
  const std::string denied =
      "Policy has not been granted access to Kubernetes v1/Secret resources. The violation has "
      "been reported.";
  for (
      auto [op, payload] : std::vector<std::pair<std::string, std::string>>{
          {"list_resources_all", R"({"api_version":"v1","kind":"Secret"})"},
          {"list_resources_by_namespace",
           R"({"api_version":"v1","kind":"Secret","namespace":"ns1"})"},
          {"get_resource",
           R"({"api_version":"v1","kind":"Secret","name":"s","namespace":"ns1","disable_cache":false})"}}) {
    auto r = call(*d, "kubernetes", op, payload);
    ASSERT_FALSE(r) << op;
    EXPECT_EQ(r.error().message, denied) << op;
  }
  // A policy that was never registered may read nothing.
  auto other = call(*d, "kubernetes", "list_resources_all",
                    R"({"api_version":"v1","kind":"Namespace"})", "stranger");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message,
            "Policy has not been granted access to Kubernetes v1/Namespace resources. The "
            "violation has been reported.");
  EXPECT_TRUE(reader_.calls().empty());
}

TEST_F(HostDispatcherTest, DeprecatedClusterContextListsWithoutTheAllowList) {
  reader_.addType({"networking.k8s.io/v1", "Ingress"}, "ingresses", true);
  auto d = make();
  for (auto ns : {"ingresses", "namespaces", "services"}) {
    auto r = d->dispatch({"stranger", "kubernetes", ns, "list", ""});
    ASSERT_TRUE(r) << ns << ": " << r.error().message;
  }
  EXPECT_EQ(reader_.calls(),
            (std::vector<std::string>{
                "listAll networking.k8s.io/v1/Ingress labels= fields=",
                "listAll v1/Namespace labels= fields=", "listAll v1/Service labels= fields="}));
}

TEST_F(HostDispatcherTest, ManifestDigestIsCachedForSixtySecondsOnSuccessOnly) {
  int fetches = 0;
  bool fail = true;
  LiveServices s;
  s.manifest_digest = [&](const std::string& image) -> Result<std::string> {
    ++fetches;
    if (fail) return makeError("registry down");
    return "sha256:" + std::string(64, image.size() % 2 ? 'a' : 'b');
  };
  auto d = make(std::move(s));
  auto first = call(*d, "oci", "v1/manifest_digest", "\"busybox\"");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().message, "Callback evaluation failure: registry down");
  fail = false;
  auto ok = call(*d, "oci", "v1/manifest_digest", "\"busybox\"");
  ASSERT_TRUE(ok);
  // Upstream 1.10 wraps the JSON-encoded digest.
  EXPECT_EQ(json::parse(*ok)["digest"], "\"sha256:" + std::string(64, 'a') + "\"");
  EXPECT_EQ(fetches, 2);
  clock_.advance(std::chrono::seconds(59));
  ASSERT_TRUE(call(*d, "oci", "v1/manifest_digest", "\"busybox\""));
  EXPECT_EQ(fetches, 2);
  clock_.advance(std::chrono::seconds(2));
  ASSERT_TRUE(call(*d, "oci", "v1/manifest_digest", "\"busybox\""));
  EXPECT_EQ(fetches, 3);
  auto bad = call(*d, "oci", "v1/manifest_digest", R"({"image":"x"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid type: object, expected a string");
}

TEST_F(HostDispatcherTest, VerifyV1AndV2DelegateWithCache) {
  std::vector<json> seen;
  LiveServices s;
  s.sigstore_verify = [&](const std::string& payload) -> Result<std::string> {
    seen.push_back(json::parse(payload));
    return std::string(R"({"is_trusted":true,"digest":"sha256:1"})");
  };
  auto d = make(std::move(s));
  const char* v1 =
      R"({"SigstorePubKeyVerify":{"image":"ghcr.io/a:1","pub_keys":["K"],"annotations":null}})";
  auto r1 = call(*d, "oci", "v1/verify", v1);
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(json::parse(*r1)["is_trusted"], true);
  ASSERT_TRUE(call(*d, "oci", "v1/verify", v1));  // cached
  const char* v2 = R"({"type":"SigstoreGithubActionsVerify","image":"ghcr.io/a:1","owner":"kw"})";
  ASSERT_TRUE(call(*d, "oci", "v2/verify", v2));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0]["type"], "SigstorePubKeyVerify");
  EXPECT_EQ(seen[0]["pub_keys"], json::array({"K"}));
  EXPECT_EQ(seen[1]["type"], "SigstoreGithubActionsVerify");
  EXPECT_TRUE(seen[1]["repo"].is_null());
  clock_.advance(std::chrono::seconds(61));
  ASSERT_TRUE(call(*d, "oci", "v1/verify", v1));
  EXPECT_EQ(seen.size(), 3u);
  auto bad = call(*d, "oci", "v1/verify", R"({"SigstoreMagic":{}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown variant `SigstoreMagic`"), std::string::npos);
}

TEST_F(HostDispatcherTest, DnsLookupIsNotCached) {
  int lookups = 0;
  LiveServices s;
  s.dns_lookup = [&](const std::string& host) -> Result<std::vector<std::string>> {
    ++lookups;
    return std::vector<std::string>{"10.0.0." + std::to_string(host.size()), "::1"};
  };
  auto d = make(std::move(s));
  auto r = call(*d, "net", "v1/dns_lookup_host", "\"abc\"");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, R"({"ips":["10.0.0.3","::1"]})");
  ASSERT_TRUE(call(*d, "net", "v1/dns_lookup_host", "\"abc\""));
  EXPECT_EQ(lookups, 2);
}

TEST_F(HostDispatcherTest, RealDnsLookupOfLocalhost) {
  auto ips = lookupHost("localhost");
  ASSERT_TRUE(ips) << ips.error().message;
  bool loopback = false;
  for (const auto& ip : *ips) loopback |= ip == "127.0.0.1" || ip == "::1";
  EXPECT_TRUE(loopback);
  auto bad = lookupHost("no-such-host.invalid");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("failed to lookup address information: ", 0), 0u);
}

TEST_F(HostDispatcherTest, AbandonsABlockingCallAtTheDeadline) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto finished = std::make_shared<std::atomic<int>>(0);
  LiveServices s;
  s.dns_lookup = [release, started,
                  finished](const std::string&) -> Result<std::vector<std::string>> {
    *started = true;
    while (!*release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ++*finished;
    return std::vector<std::string>{"1.1.1.1"};
  };
  auto pool = std::make_shared<TaskPool>(2);
  auto d = make(std::move(s), pool);
  HostCall c{"policy", "kubewarden", "net", "v1/dns_lookup_host", "\"slow\""};
  c.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  auto r = d->dispatch(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "host call kubewarden/net/v1/dns_lookup_host abandoned: the policy's deadline passed");
  // The dispatcher goes away while the abandoned task still runs; its late result is dropped.
  while (!*started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  d.reset();
  *release = true;
  pool.reset();  // joins the worker that ran the task
  EXPECT_EQ(*finished, 1);
}

TEST_F(HostDispatcherTest, FastCallsAnswerBeforeTheDeadline) {
  LiveServices s;
  s.dns_lookup = [](const std::string&) -> Result<std::vector<std::string>> {
    return std::vector<std::string>{"1.1.1.1"};
  };
  auto d = make(std::move(s), std::make_shared<TaskPool>(1));
  HostCall c{"policy", "kubewarden", "net", "v1/dns_lookup_host", "\"fast\""};
  c.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto r = d->dispatch(c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, R"({"ips":["1.1.1.1"]})");
}

// ---- crypto -------------------------------------------------------------------------------

class HostCryptoTest : public HostDispatcherTest {
 protected:
  std::string request(const test::TestCert& leaf, const std::vector<const test::TestCert*>& chain,
                      std::optional<std::string> not_after = std::nullopt) {
    std::string out = R"({"cert":)" + test::certJson(leaf.pem()) + R"(,"cert_chain":)";
    if (chain.empty()) {
      out += "null";
    } else {
      out += "[";
      for (size_t i = 0; i < chain.size(); ++i) {
        out += (i ? "," : "") + test::certJson(chain[i]->pem());
      }
      out += "]";
    }
    out += R"(,"not_after":)" + (not_after ? json(*not_after).dump() : "null") + "}";
    return out;
  }
  json trusted(const std::string& req) {
    auto d = make();
    auto r = call(*d, "crypto", "v1/is_certificate_trusted", req);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? json::parse(*r) : json();
  }

  test::TestCert root_ = test::makeCert("Root", nullptr, true, -365, 365);
  test::TestCert inter_ = test::makeCert("Intermediate", &root_, true, -365, 365);
  test::TestCert leaf_ = test::makeCert("Leaf", &inter_, false, -30, 30);
};

TEST_F(HostCryptoTest, TrustedThroughTheGivenChain) {
  auto r = trusted(request(leaf_, {&inter_, &root_}));
  EXPECT_EQ(r, json::parse(R"({"trusted":true,"reason":""})"));
}

TEST_F(HostCryptoTest, NoChainMeansTrusted) {
  EXPECT_EQ(trusted(request(leaf_, {}))["trusted"], true);
}

TEST_F(HostCryptoTest, AnotherChainIsNotTrusted) {
  auto other_root = test::makeCert("Other Root", nullptr, true, -365, 365);
  auto other_inter = test::makeCert("Other Intermediate", &other_root, true, -365, 365);
  auto r = trusted(request(leaf_, {&other_inter, &other_root}));
  EXPECT_EQ(r["trusted"], false);
  EXPECT_EQ(r["reason"].get<std::string>().rfind("Certificate not trusted", 0), 0u) << r.dump();
  // Same names, different keys: the signature check fails.
  auto fake_root = test::makeCert("Root", nullptr, true, -365, 365);
  auto fake_inter = test::makeCert("Intermediate", &fake_root, true, -365, 365);
  auto r2 = trusted(request(leaf_, {&fake_inter, &fake_root}));
  EXPECT_EQ(r2["trusted"], false);
}

TEST_F(HostCryptoTest, ExpiryAndValidityWindow) {
  auto expired = test::makeCert("Old", &inter_, false, -30, -1);
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  auto r = trusted(request(expired, {&inter_, &root_}, std::string(buf)));
  EXPECT_EQ(
      r,
      json::parse(
          R"({"trusted":false,"reason":"Certificate is being used after its expiration date"})"));
  // Without not_after and without a chain, expiry is not checked (as upstream).
  EXPECT_EQ(trusted(request(expired, {}))["trusted"], true);
  auto future = test::makeCert("Future", &inter_, false, 30, 60);
  auto f = trusted(request(future, {&inter_, &root_}));
  EXPECT_EQ(f["reason"], "Certificate is being used before its validity date");
}

TEST_F(HostCryptoTest, MalformedNotAfterIsAnError) {
  auto d = make();
  auto r = call(*d, "crypto", "v1/is_certificate_trusted",
                request(leaf_, {&inter_, &root_}, "malformed"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Error when verifying certificate: Timestamp not_after is not in RFC3339 format");
  auto junk = call(*d, "crypto", "v1/is_certificate_trusted",
                   R"({"cert":{"encoding":"Der","data":[1,2,3]}})");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().message,
            "Error when verifying certificate: Certificate is not a valid DER or PEM encoded "
            "certificate");
}

TEST_F(HostCryptoTest, LeafWithoutCodeSigningIsNotTrusted) {
  auto plain = test::makeCert("Plain", &inter_, false, -1, 30, /*code_signing=*/false);
  auto r = trusted(request(plain, {&inter_, &root_}));
  EXPECT_EQ(r["trusted"], false);
  EXPECT_EQ(r["reason"], "Certificate not trusted: RequiredEkuNotFound");
}

}  // namespace
}  // namespace kw::host
