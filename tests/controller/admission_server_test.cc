// The controller's webhook server over real HTTPS on loopback: AdmissionReviews on upstream's
// paths get crd_admission's answers; other paths and methods are refused.
#include "controller/admission_server.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_env.h"
#include "support/test_http.h"

namespace kw::controller {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// POSTs (or GETs, with method "GET") over HTTPS, trusting only `ca`.
net::Response call(const std::string& url, const fs::path& ca, const std::string& body,
                   const char* method = "POST") {
  net::Request request;
  request.method = method;
  request.url = url;
  request.headers = {"Content-Type: application/json"};
  if (request.method == "POST") request.body = body;
  request.timeout_ms = 10000;
  return test::performTrusting(request, ca);
}

class AdmissionServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kw-crd-webhook-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto made = kw::test::runCommand(
        "cd '" + dir_.string() +
        "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout tls.key -out tls.crt -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 2>&1");
    ASSERT_EQ(made.status, 0) << made.out;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  AdmissionServerOptions options() const {
    AdmissionServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.cert_file = (dir_ / "tls.crt").string();
    o.key_file = (dir_ / "tls.key").string();
    return o;
  }
  std::string url(const AdmissionServer& server, const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server.port()) + path;
  }

  fs::path dir_;
};

json capReview(const std::string& mode_old, const std::string& mode_new) {
  json cap = {{"apiVersion", "policies.kubewarden.io/v1"},
              {"kind", "ClusterAdmissionPolicy"},
              {"metadata", {{"name", "pods"}}},
              {"spec",
               {{"policyServer", "default"},
                {"module", "registry://example/p:v1"},
                {"mutating", false},
                {"mode", mode_new},
                {"rules",
                 {{{"apiGroups", {""}},
                   {"apiVersions", {"v1"}},
                   {"resources", {"pods"}},
                   {"operations", {"CREATE"}}}}}}}};
  json old_cap = cap;
  old_cap["spec"]["mode"] = mode_old;
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "u-1"}, {"operation", "UPDATE"}, {"object", cap}, {"oldObject", old_cap}}}};
}

TEST_F(AdmissionServerTest, AnswersReviewsOnUpstreamsPaths) {
  AdmissionServer server(options(), CrdAdmissionContext{});
  ASSERT_TRUE(server.start().ok());
  ASSERT_NE(server.port(), 0);
  const fs::path ca = dir_ / "tls.crt";

  auto refused = call(url(server, "/validate-policies-kubewarden-io-v1-clusteradmissionpolicy"), ca,
                      capReview("protect", "monitor").dump());
  ASSERT_EQ(refused.error, "");
  EXPECT_EQ(refused.status, 200);
  json review = json::parse(refused.body);
  EXPECT_EQ(review["response"]["uid"], "u-1");
  EXPECT_EQ(review["response"]["allowed"], false);
  EXPECT_EQ(review["response"]["status"]["message"],
            "ClusterAdmissionPolicy.policies.kubewarden.io \"pods\" is invalid: spec.mode: "
            "Forbidden: field cannot transition from protect to monitor. Recreate instead.");

  auto admitted = call(url(server, "/validate-policies-kubewarden-io-v1-clusteradmissionpolicy"),
                       ca, capReview("monitor", "protect").dump());
  EXPECT_EQ(json::parse(admitted.body)["response"]["allowed"], true);

  auto defaulted = call(url(server, "/mutate-policies-kubewarden-io-v1-clusteradmissionpolicy"), ca,
                        capReview("protect", "protect").dump());
  EXPECT_EQ(json::parse(defaulted.body)["response"]["patchType"], "JSONPatch");
}

TEST_F(AdmissionServerTest, RefusesOtherPathsMethodsAndBodies) {
  AdmissionServer server(options(), CrdAdmissionContext{});
  ASSERT_TRUE(server.start().ok());
  const fs::path ca = dir_ / "tls.crt";
  EXPECT_EQ(call(url(server, "/validate/clusterwide-x"), ca, "{}").status, 404);
  EXPECT_EQ(
      call(url(server, "/mutate-policies-kubewarden-io-v1-policyserver"), ca, "", "GET").status,
      405);
  auto garbage = call(url(server, "/mutate-policies-kubewarden-io-v1-policyserver"), ca, "{not");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_NE(garbage.body.find("not a JSON AdmissionReview"), std::string::npos) << garbage.body;
}

TEST(AdmissionServerOptions, CertDirFollowsControllerRuntimesLayout) {
  AdmissionServerOptions options = admissionServerOptionsFromCertDir("/certs", 9443);
  EXPECT_EQ(options.cert_file, "/certs/tls.crt");
  EXPECT_EQ(options.key_file, "/certs/tls.key");
  EXPECT_EQ(options.port, 9443);
}

TEST_F(AdmissionServerTest, StartReportsMissingCertificatesAndStopIsIdempotent) {
  AdmissionServerOptions no_cert = options();
  no_cert.cert_file.clear();
  AdmissionServer without(no_cert, CrdAdmissionContext{});
  auto status = without.start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("certificate"), std::string::npos);

  AdmissionServerOptions bad = options();
  bad.cert_file = (dir_ / "absent.crt").string();
  AdmissionServer broken(bad, CrdAdmissionContext{});
  EXPECT_FALSE(broken.start().ok());

  AdmissionServer server(options(), CrdAdmissionContext{});
  ASSERT_TRUE(server.start().ok());
  const std::string path = url(server, "/mutate-policies-kubewarden-io-v1-policyserver");
  server.stop();
  server.stop();
  EXPECT_NE(call(path, dir_ / "tls.crt", "{}").error, "");  // nobody listens any more
}

}  // namespace
}  // namespace kw::controller
