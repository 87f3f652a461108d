// net::HttpClient against our own HTTP server (server/http_server.h) on 127.0.0.1, plain and
// over TLS with certificates made in memory: statuses, headers and bodies, uploads, the size
// cap, streaming, timeouts, cancellation, and TLS trust (CA PEM, extra CAs, insecure, a client
// certificate, connect_to).
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "certs/certs.h"
#include "net/ca_certificates.h"
#include "http/http_server.h"

namespace kw::net {
namespace {

namespace fs = std::filesystem;
using http::HttpServer;
using http::ServerOptions;

constexpr size_t kBigBody = 200000;

// "/big": kBigBody bytes; "/status/404": a 404 with a body; "/hold": answered only when the
// test calls releaseHeld(); anything else: an echo of the request.
class TestHandler : public http::Handler {
 public:
  ~TestHandler() override { releaseHeld(); }

  void handle(http::HttpRequest request,
              std::function<void(http::HttpResponse)> done) override {
    http::HttpResponse response;
    response.content_type = "text/plain";
    if (request.target == "/big") {
      response.body = std::string(kBigBody, 'x');
    } else if (request.target == "/status/404") {
      response.status = 404;
      response.body = "no such thing";
    } else if (request.target == "/hold") {
      std::lock_guard lock(mu_);
      held_.push_back(std::move(done));
      cv_.notify_all();
      return;
    } else {
      response.body =
          request.method + " " + request.target + " [" + request.content_type + "] " + request.body;
    }
    done(std::move(response));
  }

  bool waitForHeld() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !held_.empty(); });
  }

  void releaseHeld() {
    std::vector<std::function<void(http::HttpResponse)>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& done : held) done(http::HttpResponse{});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(http::HttpResponse)>> held_;
};

class NetHttpClient : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kw-net-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    handler_.releaseHeld();
    server_.reset();
    fs::remove_all(dir_);
  }

  void start(ServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    options.serve_metrics = false;
    server_ = std::make_unique<HttpServer>(std::move(options), handler_, nullptr);
    auto status = server_->start();
    ASSERT_TRUE(status.ok()) << status.error().message;
  }

  // A CA, a serving certificate for 127.0.0.1 and policy-server.test, and TLS on the server;
  // `mutual`: the server also requires a client certificate from that CA.
  void startTls(bool mutual = false) {
    auto ca = certs::makeRootCa();
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    ca_ = *ca;
    auto serving = certs::issueServingCert(ca_, {"policy-server.test"}, {"127.0.0.1"});
    ASSERT_TRUE(serving.ok()) << serving.error().message;
    write("server.crt", serving->cert_pem);
    write("server.key", serving->key_pem);
    write("ca.crt", ca_.cert_pem);
    ServerOptions options;
    options.cert_file = (dir_ / "server.crt").string();
    options.key_file = (dir_ / "server.key").string();
    if (mutual) options.client_ca_file = (dir_ / "ca.crt").string();
    start(options);
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  // Performs `req` and expects an answer (any status) whose body is `body`.
  void expectBody(const Request& req, const std::string& body) {
    Response resp = http_.perform(req);
    ASSERT_TRUE(resp.ok()) << resp.error;
    EXPECT_EQ(resp.body, body);
  }

  std::string url(const std::string& path, const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  fs::path dir_;
  TestHandler handler_;
  std::unique_ptr<HttpServer> server_;
  certs::CertificateAuthority ca_;
  HttpClient http_;
};

TEST_F(NetHttpClient, PostsABodyAndReadsStatusHeadersAndBody) {
  start();
  Request req;
  req.method = "POST";
  req.url = url("/echo");
  req.headers.push_back("Content-Type: application/json");
  req.body = R"({"a":1})";
  Response resp = http_.perform(req);
  ASSERT_TRUE(resp.ok()) << resp.error;
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.reason(), "200 OK");
  EXPECT_EQ(resp.body, R"(POST /echo [application/json] {"a":1})");
  EXPECT_EQ(resp.header("content-type"), "text/plain");
  EXPECT_EQ(resp.header("content-length"), std::to_string(resp.body.size()));
}

TEST_F(NetHttpClient, AnErrorStatusIsAResponseWithItsBodyEvenWhenStreaming) {
  start();
  Request req;
  req.url = url("/status/404");
  bool streamed = false;
  req.sink = [&](const char*, size_t) { return streamed = true; };
  Response resp = http_.perform(req);
  ASSERT_TRUE(resp.ok()) << resp.error;
  EXPECT_EQ(resp.status, 404);
  EXPECT_EQ(resp.reason(), "404 Not Found");
  EXPECT_EQ(resp.body, "no such thing");
  EXPECT_FALSE(streamed);
}

TEST_F(NetHttpClient, UploadsAFileAndReportsProgress) {
  start();
  write("upload.txt", "file contents");
  Request req;
  req.method = "PUT";
  req.url = url("/up");
  req.body_file = dir_ / "upload.txt";
  uint64_t last_done = 0, last_total = 0;
  req.progress = [&](uint64_t done, uint64_t total) {
    last_done = done;
    last_total = total;
  };
  expectBody(req, "PUT /up [] file contents");
  EXPECT_EQ(last_total, 13u);                                                  // the upload's size
  EXPECT_EQ(last_done, 13u + std::string("PUT /up [] file contents").size());  // up, then down

  req.body_file = dir_ / "missing.txt";
  Response missing = http_.perform(req);
  EXPECT_EQ(missing.failure, Failure::kOther);
  EXPECT_NE(missing.error.find("cannot read " + (dir_ / "missing.txt").string()), std::string::npos)
      << missing.error;
}

TEST_F(NetHttpClient, RefusesACollectedBodyOverTheCap) {
  start();
  Request req;
  req.url = url("/big");
  req.max_body = 1000;
  Response resp = http_.perform(req);
  EXPECT_EQ(resp.failure, Failure::kTooLarge);
  EXPECT_NE(resp.error.find("larger than 1000 bytes"), std::string::npos) << resp.error;
  EXPECT_LE(resp.body.size(), 1000u);

  req.max_body = kBigBody;  // exactly the size is still accepted
  Response fits = http_.perform(req);
  ASSERT_TRUE(fits.ok()) << fits.error;
  EXPECT_EQ(fits.body.size(), kBigBody);
}

TEST_F(NetHttpClient, StreamsA2xxBodyPastTheCapAndStopsWhenTheSinkSaysSo) {
  start();
  Request req;
  req.url = url("/big");
  req.max_body = 10;  // applies to collected bodies only
  size_t streamed = 0;
  req.sink = [&](const char* data, size_t size) {
    streamed += std::string(data, size).find_first_not_of('x') == std::string::npos ? size : 0;
    return true;
  };
  Response resp = http_.perform(req);
  ASSERT_TRUE(resp.ok()) << resp.error;
  EXPECT_EQ(streamed, kBigBody);
  EXPECT_TRUE(resp.body.empty());

  req.sink = [](const char*, size_t) { return false; };
  Response stopped = http_.perform(req);
  EXPECT_EQ(stopped.failure, Failure::kStopped);
  // The client stays usable after an aborted transfer.
  req.sink = nullptr;
  req.max_body = kDefaultMaxBody;
  req.url = url("/again");
  expectBody(req, "GET /again [] ");
}

TEST_F(NetHttpClient, TimesOutOnAServerThatDoesNotAnswer) {
  start();
  Request req;
  req.url = url("/hold");
  req.timeout_ms = 200;
  auto began = std::chrono::steady_clock::now();
  Response resp = http_.perform(req);
  EXPECT_EQ(resp.failure, Failure::kUnreachable);
  EXPECT_EQ(resp.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
}

TEST_F(NetHttpClient, UnreachablePortIsUnreachable) {
  Request req;
  req.url = "http://127.0.0.1:1/";
  Response resp = http_.perform(req);
  EXPECT_EQ(resp.failure, Failure::kUnreachable);
  EXPECT_FALSE(resp.error.empty());
}

TEST_F(NetHttpClient, CancelStopsATransferFromAnotherThread) {
  start();
  Request req;
  req.url = url("/hold");
  Cancel cancel;
  req.cancel = &cancel;
  std::thread canceller([&] {
    if (handler_.waitForHeld()) cancel.cancel();
  });
  Response resp = http_.perform(req);
  canceller.join();
  EXPECT_EQ(resp.failure, Failure::kCancelled);
  EXPECT_TRUE(cancel.cancelled());

  cancel.reset();
  req.url = url("/after");
  expectBody(req, "GET /after [] ");
}

// The CA as PEM instead of the system roots, or as extra CAs beside them, or no check at all.
TEST_F(NetHttpClient, TlsTrustsWhatTheRequestNames) {
  startTls();
  Request req;
  req.url = url("/tls", "https");
  Response untrusted = http_.perform(req);
  EXPECT_EQ(untrusted.failure, Failure::kTlsVerify) << untrusted.error;

  Request pem = req;
  pem.tls.ca_pem = ca_.cert_pem;
  expectBody(pem, "GET /tls [] ");

  auto cas = std::make_shared<CaCertificates>();
  ASSERT_TRUE(cas->add(ca_.cert_pem).ok());
  Request extra = req;
  extra.tls.extra_cas = cas;
  expectBody(extra, "GET /tls [] ");

  Request insecure = req;
  insecure.tls.insecure = true;
  expectBody(insecure, "GET /tls [] ");

  EXPECT_FALSE(CaCertificates().add("not a certificate").ok());
}

TEST_F(NetHttpClient, ConnectToReachesAnAddressUnderTheCertificatesName) {
  startTls();
  std::string port = std::to_string(server_->port());
  Request req;
  req.url = "https://policy-server.test:" + port + "/named";
  req.connect_to = "policy-server.test:" + port + ":127.0.0.1:" + port;
  req.tls.ca_pem = ca_.cert_pem;
  expectBody(req, "GET /named [] ");
}

TEST_F(NetHttpClient, SendsAClientCertificateFromMemory) {
  startTls(/*mutual=*/true);
  Request req;
  req.url = url("/mtls", "https");
  req.tls.ca_pem = ca_.cert_pem;
  Response refused = http_.perform(req);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status, 0);

  auto client = certs::issueServingCert(ca_, {"client"});
  ASSERT_TRUE(client.ok()) << client.error().message;
  req.tls.client_cert_pem = client->cert_pem;
  req.tls.client_key_pem = client->key_pem;
  expectBody(req, "GET /mtls [] ");
}

}  // namespace
}  // namespace kw::net
