#include "host/callback_request.h"

#include <gtest/gtest.h>

#include "host/yaml_text.h"

namespace kw::host {
namespace {

using nlohmann::json;

TEST(HostCallbackRequest, ParsesUpstreamGetResourceYaml) {
  auto r = requestFromYaml(
      "!KubernetesGetResource\napi_version: v1\nkind: Namespace\nname: test-policy\n"
      "namespace: null\ndisable_cache: false\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->type, "KubernetesGetResource");
  EXPECT_EQ(r->fields["name"], "test-policy");
  EXPECT_TRUE(r->fields["namespace"].is_null());
  EXPECT_EQ(r->fields["disable_cache"], false);
}

TEST(HostCallbackRequest, YamlMatchesSerdeYamlLayout) {
  auto r = requestFromJson(
      "KubernetesListResourceAll",
      json{{"api_version", "v1"}, {"kind", "Namespace"}, {"label_selector", "customer-id=1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(requestToYaml(*r),
            "!KubernetesListResourceAll\napi_version: v1\nkind: Namespace\n"
            "label_selector: customer-id=1\nfield_selector: null\n");
}

TEST(HostCallbackRequest, YamlRoundTripsEveryFieldKind) {
  const char* pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
  std::vector<json> inputs = {
      json{{"type", "SigstorePubKeyVerify"},
           {"image", "ghcr.io/a/b:1"},
           {"pub_keys", {pem}},
           {"annotations", {{"env", "prod"}, {"true", "yes"}}}},
      json{{"type", "SigstoreKeylessVerify"},
           {"image", "busybox"},
           {"keyless", {{{"issuer", "https://iss"}, {"subject", "me@example.com"}}}}},
      json{{"type", "SigstoreKeylessPrefixVerify"},
           {"image", "x"},
           {"keyless_prefix", {{{"issuer", "https://iss"}, {"url_prefix", "https://gh/"}}}}},
      json{{"type", "SigstoreGithubActionsVerify"},
           {"image", "x"},
           {"owner", "kubewarden"},
           {"repo", nullptr}},
      json{{"type", "SigstoreCertificateVerify"},
           {"image", "x"},
           {"certificate", {45, 45, 10}},
           {"certificate_chain", {{1, 2}, {3}}},
           {"require_rekor_bundle", true}},
      json{{"type", "DNSLookupHost"}, {"host", "123"}},
      json{{"type", "KubernetesGetResource"},
           {"api_version", "apps/v1"},
           {"kind", "Deployment"},
           {"name", "null"},
           {"namespace", "a: b"},
           {"disable_cache", true}},
  };
  for (const auto& in : inputs) {
    auto r = requestFromJson(in["type"].get<std::string>(), in);
    ASSERT_TRUE(r) << in.dump() << ": " << r.error().message;
    std::string yaml = requestToYaml(*r);
    auto back = requestFromYaml(yaml);
    ASSERT_TRUE(back) << yaml << "\n" << back.error().message;
    EXPECT_EQ(*back, *r) << yaml;
  }
}

TEST(HostCallbackRequest, DebugFormatIsRusts) {
  auto r = requestFromJson("KubernetesGetResource", json{{"api_version", "v1"},
                                                         {"kind", "Namespace"},
                                                         {"name", "x\"y"},
                                                         {"namespace", nullptr},
                                                         {"disable_cache", false}});
  ASSERT_TRUE(r);
  EXPECT_EQ(requestDebug(*r),
            "KubernetesGetResource { api_version: \"v1\", kind: \"Namespace\", name: \"x\\\"y\", "
            "namespace: None, disable_cache: false }");
  auto g = requestFromJson(
      "SigstoreGithubActionsVerify",
      json{{"image", "i"}, {"owner", "o"}, {"repo", "r"}, {"annotations", {{"a", "b"}}}});
  ASSERT_TRUE(g);
  EXPECT_EQ(requestDebug(*g),
            "SigstoreGithubActionsVerify { image: \"i\", owner: \"o\", repo: Some(\"r\"), "
            "annotations: Some({\"a\": \"b\"}) }");
}

TEST(HostCallbackRequest, JsonErrorsNameTheField) {
  auto missing = requestFromJson("KubernetesGetResource", json{{"api_version", "v1"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "missing field `kind`");
  auto wrong = requestFromJson("DNSLookupHost", json{{"host", 3}});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("`host`"), std::string::npos);
  EXPECT_FALSE(requestFromJson("Nope", json::object()));
}

TEST(HostCallbackRequest, AnnotationOrderDoesNotMatter) {
  auto a = requestFromJson(
      "SigstorePubKeyVerify",
      json::parse(R"({"image":"i","pub_keys":[],"annotations":{"a":"1","b":"2"}})"));
  auto b = requestFromJson(
      "SigstorePubKeyVerify",
      json::parse(R"({"annotations":{"b":"2","a":"1"},"pub_keys":[],"image":"i"})"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(requestKey(*a), requestKey(*b));
}

TEST(HostYamlText, QuotesWhatWouldReadBackDifferently) {
  EXPECT_EQ(yamlScalar("plain-text_1.2/x"), "plain-text_1.2/x");
  EXPECT_EQ(yamlScalar("true"), "'true'");
  EXPECT_EQ(yamlScalar("null"), "'null'");
  EXPECT_EQ(yamlScalar("12"), "'12'");
  EXPECT_EQ(yamlScalar("1.5e3"), "'1.5e3'");
  EXPECT_EQ(yamlScalar("{\"a\":1}"), "'{\"a\":1}'");
  EXPECT_EQ(yamlScalar("it's: here"), "\"it's: here\"");
  EXPECT_EQ(yamlScalar(""), "''");
  EXPECT_EQ(yamlScalar("- x"), "'- x'");
}

}  // namespace
}  // namespace kw::host
