// The HTTP transport over real sockets on 127.0.0.1: keep-alive, size limits, malformed input,
// slow handlers vs. other connections, /metrics, TLS and mTLS (certificates made at test time
// with the openssl CLI), slow-client timeouts, and graceful shutdown with a request in flight.
#include "http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "support/cant_run.h"
#include "support/test_env.h"

namespace kw::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using namespace std::chrono_literals;

// Every client operation has a deadline, so a broken server fails a test instead of hanging it.
constexpr auto kClientDeadline = 10s;

// Answers on its own threads (like the admission API's worker pool): an echo of the request.
// "/slow" waits for release(); "/inline" answers inside handle(); "/drop" never calls done;
// "/throw" throws.
class TestHandler : public Handler {
 public:
  ~TestHandler() override {
    release();
    std::lock_guard lock(mu_);
    for (auto& worker : workers_) worker.join();
  }

  void handle(HttpRequest request, std::function<void(HttpResponse)> done) override {
    if (request.target == "/inline") return done(echo(request));
    if (request.target == "/drop") return;
    if (request.target == "/throw") throw std::runtime_error("handler exploded");
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, request = std::move(request), done = std::move(done)] {
      if (request.target == "/slow") waitForRelease();
      done(echo(request));
    });
  }

  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  bool waitForSlowRequests(int count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kClientDeadline, [&] { return slow_started_ >= count; });
  }

 private:
  static HttpResponse echo(const HttpRequest& request) {
    return {
        200, "text/plain",
        request.method + " " + request.target + " [" + request.content_type + "] " + request.body};
  }

  void waitForRelease() {
    std::unique_lock lock(mu_);
    ++slow_started_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int slow_started_ = 0;
  std::vector<std::thread> workers_;
};

// For state the server updates just after the client saw the effect (e.g. the in-flight count
// drops once the write completes on the server side).
template <typename Predicate>
bool eventually(Predicate predicate) {
  for (auto until = std::chrono::steady_clock::now() + kClientDeadline;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms)) {
    if (predicate()) return true;
  }
  return predicate();
}

Request makeRequest(http::verb verb, std::string target, std::string body = "",
                    std::string content_type = "") {
  Request request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!content_type.empty()) request.set(http::field::content_type, content_type);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

// A client over its own io_context; Stream is beast::tcp_stream or an ssl_stream of it.
template <typename Stream>
class Client {
 public:
  template <typename... Args>
  explicit Client(uint16_t port, Args&... args) : stream_(io_, args...) {
    transport().connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), connect_error_);
  }

  const error_code& connectError() const { return connect_error_; }
  beast::tcp_stream& transport() { return beast::get_lowest_layer(stream_); }

  error_code handshake() {
    return run([&](auto done) { stream_.async_handshake(ssl::stream_base::client, done); });
  }
  error_code send(const Request& request) {
    return run([&](auto done) { http::async_write(stream_, request, done); });
  }
  error_code sendRaw(std::string_view bytes) {
    return run([&](auto done) { asio::async_write(stream_, asio::buffer(bytes), done); });
  }
  std::pair<error_code, Response> receive() {
    Response response;
    error_code ec = run([&](auto done) { http::async_read(stream_, buffer_, response, done); });
    return {ec, std::move(response)};
  }
  // Sends and reads one exchange, failing the test on transport errors.
  Response roundTrip(const Request& request) {
    error_code ec = send(request);
    EXPECT_FALSE(ec) << "send: " << ec.message();
    auto [read_ec, response] = receive();
    EXPECT_FALSE(read_ec) << "receive: " << read_ec.message();
    return response;
  }
  // Everything the server sends until it closes (or `deadline` passes: then would_block).
  std::pair<error_code, std::string> readUntilClose(std::chrono::milliseconds deadline) {
    std::string data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.clear();
    std::array<char, 4096> chunk;
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      size_t got = 0;
      error_code ec = run(
          [&](auto done) {
            stream_.async_read_some(asio::buffer(chunk), [&, done](error_code e, size_t n) {
              got = n;
              done(e);
            });
          },
          until - std::chrono::steady_clock::now());
      data.append(chunk.data(), got);
      if (ec) return {ec == beast::error::timeout ? asio::error::would_block : ec, data};
    }
  }

 private:
  template <typename Start>
  error_code run(Start start, std::chrono::steady_clock::duration deadline = kClientDeadline) {
    error_code result = asio::error::in_progress;
    transport().expires_after(deadline);
    start([&result](error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  asio::io_context io_;
  Stream stream_;
  beast::flat_buffer buffer_;
  error_code connect_error_;
};

using PlainClient = Client<beast::tcp_stream>;
using TlsClient = Client<beast::ssl_stream<beast::tcp_stream>>;

// Server certificate (self-signed, SAN 127.0.0.1), a client CA with one client certificate,
// and a "rogue" self-signed client certificate the CA did not sign.
struct Pki {
  Pki() = default;
  Pki(Pki&& other) noexcept
      : dir(std::exchange(other.dir, {})), ok(other.ok), error(std::move(other.error)) {}
  ~Pki() {  // the certificates and keys live as long as the test binary
    std::error_code ignored;
    if (!dir.empty()) fs::remove_all(dir, ignored);
  }
  fs::path dir;
  bool ok = false;
  std::string error;
  fs::path file(const char* name) const { return dir / name; }
};

const Pki& pki() {
  static const Pki instance = [] {
    Pki p;
    std::string pattern = (fs::temp_directory_path() / "kw-http-tls-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return p;
    p.dir = pattern;
    const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "cd '" + p.dir.string() + "' && " + "openssl req -x509 " + ec_key +
        " -keyout server.key -out server.crt -days 2 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 && "
        "openssl req -x509 " +
        ec_key +
        " -keyout ca.key -out ca.crt -days 2 "
        "-subj /CN=kw-test-client-ca && "
        "openssl req " +
        ec_key +
        " -keyout client.key -out client.csr -subj /CN=client && "
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out client.crt -days 2 && "
        "openssl req -x509 " +
        ec_key +
        " -keyout rogue.key -out rogue.crt -days 2 "
        "-subj /CN=rogue && "
        // An RSA server certificate, with which static-RSA suites would be possible.
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 2 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>&1";
    auto result = kw::test::runCommand("(" + script + ") 2>&1");
    p.ok = result.status == 0;
    p.error = result.out;
    return p;
  }();
  return instance;
}

ssl::context clientTls(const char* cert = nullptr, const char* key = nullptr) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(pki().file("server.crt").string());
  ctx.set_verify_mode(ssl::verify_peer);
  if (cert != nullptr) {
    ctx.use_certificate_chain_file(pki().file(cert).string());
    ctx.use_private_key_file(pki().file(key).string(), ssl::context::pem);
  }
  return ctx;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    handler_.release();
    if (server_) {
      server_->shutdown();
      server_->wait();
    }
  }

  ServerOptions localOptions() {
    ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    return options;
  }

  void start(ServerOptions options) {
    server_ = std::make_unique<HttpServer>(std::move(options), handler_, &metrics_);
    auto status = server_->start();
    ASSERT_TRUE(status) << status.error().message;
    ASSERT_NE(server_->port(), 0);
  }

  kw::Status tryStart(ServerOptions options) {
    server_ = std::make_unique<HttpServer>(std::move(options), handler_, &metrics_);
    return server_->start();
  }

  void useTls(ServerOptions& options, bool mutual) {
    if (!pki().ok) KW_CANT_RUN() << "openssl could not make test certificates: " << pki().error;
    options.cert_file = pki().file("server.crt").string();
    options.key_file = pki().file("server.key").string();
    if (mutual) options.client_ca_file = pki().file("ca.crt").string();
  }

  // Declared before server_: the server must go first, it calls into both.
  TestHandler handler_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

// ---- HTTP basics ------------------------------------------------------------------------

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start(localOptions());
  PlainClient client(server_->port());
  ASSERT_FALSE(client.connectError()) << client.connectError().message();
  for (int i = 0; i < 3; ++i) {
    std::string body = R"({"n":)" + std::to_string(i) + "}";
    Response response = client.roundTrip(
        makeRequest(http::verb::post, "/validate/p?dry=1", body, "application/json"));
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response.body(), "POST /validate/p [application/json] " + body);
    EXPECT_EQ(response[http::field::content_type], "text/plain");
    EXPECT_TRUE(response.keep_alive());
  }
  Response inline_answer = client.roundTrip(makeRequest(http::verb::get, "/inline"));
  EXPECT_EQ(inline_answer.body(), "GET /inline [] ");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start(localOptions());
  PlainClient client(server_->port());
  ASSERT_FALSE(
      client.sendRaw("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                     "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
  auto [ec1, first] = client.receive();
  auto [ec2, second] = client.receive();
  ASSERT_FALSE(ec1 || ec2);
  EXPECT_EQ(first.body(), "GET /one [] ");
  EXPECT_EQ(second.body(), "POST /two [] hi");
}

TEST_F(HttpServerTest, Http10ConnectionIsClosedAfterTheAnswer) {
  start(localOptions());
  PlainClient client(server_->port());
  ASSERT_FALSE(client.sendRaw("GET /old HTTP/1.0\r\n\r\n"));
  auto [ec, data] = client.readUntilClose(5s);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_EQ(data.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << data;
  EXPECT_NE(data.find("GET /old [] "), std::string::npos) << data;
}

TEST_F(HttpServerTest, ClientGoneBeforeTheAnswerIsHarmless) {
  start(localOptions());
  {
    PlainClient leaving(server_->port());
    ASSERT_FALSE(leaving.send(makeRequest(http::verb::post, "/slow", "bye")));
    ASSERT_TRUE(handler_.waitForSlowRequests(1));
  }
  handler_.release();  // answered to a closed socket
  EXPECT_TRUE(eventually([&] { return server_->inFlight() == 0; }));
  PlainClient client(server_->port());
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/still")).result_int(), 200u);
}

TEST_F(HttpServerTest, HandlersThatDropOrThrowGet500) {
  start(localOptions());
  PlainClient client(server_->port());
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/drop")).result_int(), 500u);
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/throw")).result_int(), 500u);
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/ok")).result_int(), 200u);
}

TEST_F(HttpServerTest, OversizedBodiesGet413) {
  ServerOptions options = localOptions();
  options.max_body_bytes = 1024;
  start(options);
  const std::string expected = R"({"message":"request body too large","status":413})";

  // Declared length over the limit: refused as soon as the headers are read.
  PlainClient declared(server_->port());
  EXPECT_FALSE(declared.send(makeRequest(http::verb::post, "/x", std::string(4096, 'a'))));
  auto [ec, response] = declared.receive();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 413u);
  EXPECT_EQ(response.body(), expected);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_FALSE(response.keep_alive());

  // Chunked: only the bytes themselves show the body is too large.
  PlainClient chunked(server_->port());
  Request request = makeRequest(http::verb::post, "/x", std::string(4096, 'b'));
  request.chunked(true);
  EXPECT_FALSE(chunked.send(request));
  auto [chunked_ec, chunked_response] = chunked.receive();
  ASSERT_FALSE(chunked_ec) << chunked_ec.message();
  EXPECT_EQ(chunked_response.result_int(), 413u);
  EXPECT_EQ(chunked_response.body(), expected);

  // Within the limit still works.
  PlainClient fine(server_->port());
  EXPECT_EQ(
      fine.roundTrip(makeRequest(http::verb::post, "/x", std::string(1024, 'c'))).result_int(),
      200u);
}

TEST_F(HttpServerTest, HugeDeclaredLengthIsRefusedWithoutReadingIt) {
  start(localOptions());  // default limit: 10 MiB
  PlainClient client(server_->port());
  ASSERT_FALSE(client.sendRaw(
      "POST /validate/p HTTP/1.1\r\nHost: x\r\nContent-Length: 20971520\r\n\r\n{\"a\":"));
  auto [ec, response] = client.receive();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 413u);
}

TEST_F(HttpServerTest, MalformedRequestsGet400AndTheServerCarriesOn) {
  start(localOptions());
  for (const char* garbage : {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                              "POST / HTTP/1.1\r\nContent-Length: zz\r\n\r\n",
                              "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"}) {
    PlainClient client(server_->port());
    ASSERT_FALSE(client.sendRaw(garbage));
    auto [ec, data] = client.readUntilClose(5s);
    EXPECT_NE(ec, asio::error::would_block) << "not closed after garbage";
    EXPECT_EQ(data.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << data;
    EXPECT_NE(data.find("\"status\":400"), std::string::npos) << data;
  }
  PlainClient client(server_->port());
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/after")).result_int(), 200u);
}

TEST_F(HttpServerTest, ExpectContinueIsHonoured) {
  start(localOptions());
  PlainClient client(server_->port());
  ASSERT_FALSE(
      client.sendRaw("POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     "Content-Length: 5\r\n\r\n"));
  auto [interim_ec, interim] = client.receive();
  ASSERT_FALSE(interim_ec) << interim_ec.message();
  EXPECT_EQ(interim.result_int(), 100u);
  ASSERT_FALSE(client.sendRaw("hello"));
  auto [ec, response] = client.receive();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.body(), "POST /c [] hello");
}

// ---- concurrency ------------------------------------------------------------------------

TEST_F(HttpServerTest, SlowHandlerDoesNotBlockOtherConnections) {
  ServerOptions options = localOptions();
  options.threads = 1;  // one network thread: the slow request must not occupy it
  start(options);
  PlainClient slow(server_->port());
  ASSERT_FALSE(slow.send(makeRequest(http::verb::post, "/slow", "s")));
  ASSERT_TRUE(handler_.waitForSlowRequests(1));

  PlainClient quick(server_->port());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(quick.roundTrip(makeRequest(http::verb::get, "/quick")).body(), "GET /quick [] ");
  }
  EXPECT_TRUE(eventually([&] { return server_->inFlight() == 1; })) << server_->inFlight();

  handler_.release();
  auto [ec, response] = slow.receive();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.body(), "POST /slow [] s");
}

TEST_F(HttpServerTest, ManyConcurrentClients) {
  ServerOptions options = localOptions();
  options.threads = 2;
  start(options);
  std::vector<std::future<int>> clients;
  for (int c = 0; c < 16; ++c) {
    clients.push_back(std::async(std::launch::async, [this, c] {
      PlainClient client(server_->port());
      int ok = 0;
      for (int i = 0; i < 10; ++i) {
        std::string body = std::to_string(c) + ":" + std::to_string(i);
        Response r = client.roundTrip(makeRequest(http::verb::post, "/e", body));
        ok += r.body() == "POST /e [] " + body;
      }
      return ok;
    }));
  }
  for (auto& client : clients) EXPECT_EQ(client.get(), 10);
}

// ---- metrics ----------------------------------------------------------------------------

TEST_F(HttpServerTest, MetricsServedOnTheMainListener) {
  metrics_.recordEvaluation({{"policy_name", "p"}}, 3);
  start(localOptions());
  EXPECT_FALSE(server_->metricsPort());
  PlainClient client(server_->port());
  Response response = client.roundTrip(makeRequest(http::verb::get, "/metrics"));
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(response[http::field::content_type].rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(response.body().find(R"(kubewarden_policy_evaluations_total{policy_name="p"} 1)"),
            std::string::npos)
      << response.body();
  // Only GET is the transport's; anything else is the API's business.
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::post, "/metrics", "x")).body(),
            "POST /metrics [] x");
}

TEST_F(HttpServerTest, MetricsServedOnASeparatePort) {
  ServerOptions options = localOptions();
  options.metrics_port = 0;
  start(options);
  ASSERT_TRUE(server_->metricsPort());
  ASSERT_NE(*server_->metricsPort(), server_->port());

  PlainClient metrics(*server_->metricsPort());
  Response response = metrics.roundTrip(makeRequest(http::verb::get, "/metrics"));
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_NE(response.body().find("# TYPE kubewarden_policy_evaluations_total counter"),
            std::string::npos);
  EXPECT_EQ(metrics.roundTrip(makeRequest(http::verb::get, "/validate/p")).result_int(), 404u);

  PlainClient api(server_->port());
  EXPECT_EQ(api.roundTrip(makeRequest(http::verb::get, "/metrics")).body(), "GET /metrics [] ");
}

// Issue 16: upstream's chart puts an OpenTelemetry collector on the metrics port; the server
// exited when it was taken. It now serves /metrics on the main listener instead.
TEST_F(HttpServerTest, MetricsFallBackToTheMainListenerWhenTheirPortIsTaken) {
  asio::io_context io;
  tcp::acceptor squatter(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  ServerOptions options = localOptions();
  options.metrics_port = squatter.local_endpoint().port();
  start(options);
  EXPECT_FALSE(server_->metricsPort());
  PlainClient client(server_->port());
  Response response = client.roundTrip(makeRequest(http::verb::get, "/metrics"));
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_NE(response.body().find("# TYPE kubewarden_policy_evaluations_total counter"),
            std::string::npos)
      << response.body();
}

TEST_F(HttpServerTest, MetricsCanBeTurnedOff) {
  ServerOptions options = localOptions();
  options.serve_metrics = false;
  start(options);
  PlainClient client(server_->port());
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/metrics")).body(), "GET /metrics [] ");
}

// ---- startup errors ---------------------------------------------------------------------

TEST_F(HttpServerTest, BindConflictIsReported) {
  start(localOptions());
  TestHandler other_handler;
  ServerOptions options = localOptions();
  options.port = server_->port();
  HttpServer second(options, other_handler, nullptr);
  auto status = second.start();
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("cannot bind 127.0.0.1:"), std::string::npos)
      << status.error().message;
}

TEST_F(HttpServerTest, BadTlsMaterialIsReported) {
  ServerOptions options = localOptions();
  useTls(options, false);
  if (IsSkipped() || HasFatalFailure()) return;

  auto expectError = [&](ServerOptions bad, const std::string& needle) {
    auto status = tryStart(std::move(bad));
    ASSERT_FALSE(status) << needle;
    EXPECT_NE(status.error().message.find(needle), std::string::npos) << status.error().message;
  };
  ServerOptions missing = options;
  missing.cert_file = (pki().dir / "nope.crt").string();
  expectError(missing, "cannot load TLS certificate");
  ServerOptions garbage_key = options;
  garbage_key.key_file = pki().file("client.csr").string();
  expectError(garbage_key, "cannot load TLS key");
  ServerOptions mismatch = options;
  mismatch.key_file = pki().file("client.key").string();
  expectError(mismatch, "mismatch");
  ServerOptions half = options;
  half.key_file.clear();
  expectError(half, "either both");
  ServerOptions ca_without_tls = localOptions();
  ca_without_tls.client_ca_file = pki().file("ca.crt").string();
  expectError(ca_without_tls, "requires TLS");
}

// ---- TLS --------------------------------------------------------------------------------

TEST_F(HttpServerTest, ServesOverTls) {
  ServerOptions options = localOptions();
  useTls(options, false);
  if (IsSkipped() || HasFatalFailure()) return;
  start(options);
  ssl::context ctx = clientTls();
  TlsClient client(server_->port(), ctx);
  error_code ec = client.handshake();
  ASSERT_FALSE(ec) << ec.message();
  for (int i = 0; i < 2; ++i) {
    Response response = client.roundTrip(makeRequest(http::verb::post, "/tls", "x"));
    EXPECT_EQ(response.body(), "POST /tls [] x");
  }
  // Plain HTTP on the TLS port gets no HTTP answer.
  PlainClient plain(server_->port());
  ASSERT_FALSE(plain.send(makeRequest(http::verb::get, "/")));
  auto [read_ec, data] = plain.readUntilClose(5s);
  EXPECT_EQ(data.find("HTTP/1.1 200"), std::string::npos);
}

// Issue 16's probe: TLS 1.2 accepted static-RSA key exchange and CBC-SHA1 (AES128-SHA).
TEST_F(HttpServerTest, Tls12OffersOnlyForwardSecretAeadSuites) {
  ServerOptions options = localOptions();
  useTls(options, false);
  if (IsSkipped() || HasFatalFailure()) return;
  options.cert_file = pki().file("rsa.crt").string();
  options.key_file = pki().file("rsa.key").string();
  start(options);
  auto tls12 = [&](const char* cipher) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(pki().file("rsa.crt").string());
    ctx.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx.native_handle(), cipher);
    TlsClient client(server_->port(), ctx);
    return client.handshake();
  };
  EXPECT_TRUE(tls12("AES128-SHA")) << "static RSA with CBC-SHA1 must be refused";
  EXPECT_TRUE(tls12("AES256-GCM-SHA384")) << "static RSA key exchange must be refused";
  error_code ec = tls12("ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_FALSE(ec) << ec.message();
}

TEST_F(HttpServerTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  ServerOptions options = localOptions();
  useTls(options, true);
  if (IsSkipped() || HasFatalFailure()) return;
  start(options);

  // Under TLS 1.3 the client may finish its handshake before the server rejects it, so the
  // refusal can surface on the handshake or on the first read.
  auto refused = [&](ssl::context& ctx) {
    TlsClient client(server_->port(), ctx);
    if (client.handshake()) return true;
    if (client.send(makeRequest(http::verb::get, "/mtls"))) return true;
    return static_cast<bool>(client.receive().first);
  };
  ssl::context anonymous = clientTls();
  EXPECT_TRUE(refused(anonymous));
  ssl::context rogue = clientTls("rogue.crt", "rogue.key");
  EXPECT_TRUE(refused(rogue));

  ssl::context trusted = clientTls("client.crt", "client.key");
  TlsClient client(server_->port(), trusted);
  error_code ec = client.handshake();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/mtls")).body(), "GET /mtls [] ");
}

// ---- slow clients -----------------------------------------------------------------------

TEST_F(HttpServerTest, TricklingClientIsCutOffAfterTheHeaderTimeout) {
  ServerOptions options = localOptions();
  options.header_timeout = 300ms;
  start(options);

  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), server_->port()));
  const auto began = std::chrono::steady_clock::now();
  std::optional<error_code> closed;
  std::array<char, 256> sink;
  socket.async_read_some(asio::buffer(sink), [&](error_code ec, size_t) { closed = ec; });
  // One header byte every 50 ms: always making progress, never finishing.
  std::string trickle = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    if (closed) return;
    error_code ignored;
    asio::write(socket, asio::buffer(trickle), ignored);
    trickle = "a";
    timer.expires_after(50ms);
    timer.async_wait([&](error_code) { tick(); });
  };
  tick();
  io.run_for(5s);
  ASSERT_TRUE(closed) << "the trickling client was never disconnected";
  EXPECT_TRUE(*closed == asio::error::eof || *closed == asio::error::connection_reset)
      << closed->message();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 2s);

  // A connection that never sends anything is closed too; the server still serves.
  PlainClient silent(server_->port());
  auto [ec, data] = silent.readUntilClose(3s);
  EXPECT_NE(ec, asio::error::would_block) << "a silent connection stayed open";
  PlainClient client(server_->port());
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/ok")).result_int(), 200u);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionsAreClosed) {
  ServerOptions options = localOptions();
  options.idle_timeout = 300ms;
  start(options);
  PlainClient client(server_->port());
  EXPECT_EQ(client.roundTrip(makeRequest(http::verb::get, "/once")).result_int(), 200u);
  auto [ec, data] = client.readUntilClose(3s);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_TRUE(data.empty());
}

// ---- shutdown ---------------------------------------------------------------------------

TEST_F(HttpServerTest, ShutdownAnswersInFlightRequestsThenReturnsFromWait) {
  start(localOptions());
  const uint16_t port = server_->port();
  PlainClient idle(port);
  EXPECT_EQ(idle.roundTrip(makeRequest(http::verb::get, "/warm")).result_int(), 200u);
  PlainClient busy(port);
  ASSERT_FALSE(busy.send(makeRequest(http::verb::post, "/slow", "payload")));
  ASSERT_TRUE(handler_.waitForSlowRequests(1));
  EXPECT_TRUE(eventually([&] { return server_->inFlight() == 1; })) << server_->inFlight();

  server_->shutdown();
  auto waited = std::async(std::launch::async, [this] { server_->wait(); });

  // The idle keep-alive connection is closed; new connections are refused.
  auto [idle_ec, idle_data] = idle.readUntilClose(5s);
  EXPECT_EQ(idle_ec, asio::error::eof) << idle_ec.message();
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i, std::this_thread::sleep_for(20ms)) {
    refused = static_cast<bool>(PlainClient(port).connectError());
  }
  EXPECT_TRUE(refused) << "still accepting after shutdown()";
  EXPECT_EQ(waited.wait_for(100ms), std::future_status::timeout) << "wait() did not drain";

  handler_.release();
  auto [ec, response] = busy.receive();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(response.body(), "POST /slow [] payload");
  EXPECT_FALSE(response.keep_alive());
  EXPECT_EQ(waited.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(server_->inFlight(), 0u);
}

TEST_F(HttpServerTest, ShutdownBeforeStartAndTwice) {
  HttpServer server(localOptions(), handler_, &metrics_);
  server.shutdown();
  server.shutdown();
  server.wait();
  EXPECT_FALSE(server.start());
}

}  // namespace
}  // namespace kw::http
