#include "http/http_server.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace kw::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;

// Errors come back as values: client misbehaviour is routine, not exceptional.
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

constexpr size_t kHeaderLimit = 64 << 10;  // Beast's 8 KiB default is tight for long tokens
constexpr size_t kFirstReadChunk = 4096;
// After an answer that leaves request bytes unread (413, 400) we keep reading and discarding
// for a while: closing with unread input makes the kernel send RST, which can destroy the
// answer before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr auto kTlsCloseTime = std::chrono::seconds(1);  // bound on waiting for close_notify
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class Listener { kApi, kMetrics };

// What shutdown() needs to know about a live connection. Fields are touched only on the
// connection's strand, which `executor` is.
struct Connection {
  asio::any_io_executor executor;
  beast::tcp_stream* transport = nullptr;  // null once the session is over
  bool idle = true;                        // waiting for the first byte of a request
};

std::string jsonError(int status, std::string_view message) {
  return nlohmann::json{{"message", message}, {"status", status}}.dump();
}

HttpResponse errorResponse(int status, std::string_view message) {
  return HttpResponse{status, "application/json", jsonError(status, message)};
}

beast::tcp_stream& transportOf(PlainStream& stream) {
  return stream;
}
beast::tcp_stream& transportOf(TlsStream& stream) {
  return stream.next_layer();
}

bool isHttpParseError(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// Failures that are just the peer going away or our own timers/cancellation.
bool isRoutineDisconnect(const error_code& ec) {
  return ec == asio::error::operation_aborted || ec == beast::error::timeout ||
         ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == ssl::error::stream_truncated;
}

std::string targetPath(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

HttpRequest toHttpRequest(Request& request) {
  HttpRequest out;
  out.method = std::string(request.method_string());
  out.target = targetPath(request.target());
  out.content_type = std::string(request[http::field::content_type]);
  out.body = std::move(request.body());
  return out;
}

http::response<http::string_body> toBeastResponse(HttpResponse answer, unsigned version,
                                                  bool keep_alive) {
  if (answer.status < 100 || answer.status > 999) {
    spdlog::error("handler answered with invalid HTTP status {}", answer.status);
    answer = errorResponse(500, "Something went wrong");
  }
  http::response<http::string_body> out;
  out.version(version);
  out.result(static_cast<unsigned>(answer.status));
  if (!answer.content_type.empty()) out.set(http::field::content_type, answer.content_type);
  out.body() = std::move(answer.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// Completes an awaiting coroutine with the handler's answer. `done` may run on any thread, or
// inside Handler::handle itself, so the completion is always posted to the coroutine's
// executor (its connection strand). Holding tracked work keeps the io_context running while
// the answer is pending, which is what lets shutdown() drain in-flight requests.
template <typename CompletionHandler>
class PendingAnswer {
 public:
  explicit PendingAnswer(CompletionHandler handler)
      : handler_(std::move(handler)),
        work_(asio::prefer(asio::get_associated_executor(handler_),
                           asio::execution::outstanding_work.tracked)) {}
  // A handler that drops `done` without calling it would otherwise hang the connection.
  ~PendingAnswer() {
    if (!completed_.load()) {
      spdlog::error("request handler dropped a request without answering it");
      complete(errorResponse(500, "Something went wrong"));
    }
  }
  PendingAnswer(const PendingAnswer&) = delete;
  PendingAnswer& operator=(const PendingAnswer&) = delete;

  void complete(HttpResponse answer) {
    if (completed_.exchange(true)) return;  // a second call is a handler bug; first one wins
    auto executor = asio::get_associated_executor(handler_);
    asio::post(executor, [handler = std::move(handler_), answer = std::move(answer)]() mutable {
      std::move(handler)(std::move(answer));
    });
    work_ = asio::any_io_executor();
  }

 private:
  CompletionHandler handler_;
  asio::any_io_executor work_;
  std::atomic<bool> completed_{false};
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, Handler& api, Metrics* metrics)
      : options_(std::move(options)), api_(api), metrics_(metrics) {}

  ~Impl() {
    shutdown();
    wait();
    // Sockets must go before the io_context that owns their reactor.
    api_acceptor_.reset();
    metrics_acceptor_.reset();
  }

  kw::Status start();
  void runNetworkThread();
  void shutdown();
  void wait();

  uint16_t port() const { return port_; }
  std::optional<uint16_t> metricsPort() const { return metrics_port_; }
  size_t inFlight() const { return in_flight_.load(); }

 private:
  kw::Status validateOptions() const;
  kw::Status setupTls();
  // `address_in_use`, when given, tells a port taken by another process from other failures.
  kw::Result<tcp::acceptor> listen(uint16_t port, bool* address_in_use = nullptr);
  bool servesMetrics(Listener listener, const Request& request) const;

  asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor, Listener listener);
  std::shared_ptr<Connection> track(const asio::any_io_executor& executor);
  void untrack(const std::shared_ptr<Connection>& connection);
  asio::awaitable<void> session(tcp::socket socket, Listener listener,
                                std::shared_ptr<Connection> connection);
  template <typename Stream>
  asio::awaitable<void> serve(Stream& stream, Listener listener, Connection& connection);
  template <typename Stream>
  asio::awaitable<bool> awaitRequestStart(Stream& stream, beast::flat_buffer& buffer,
                                          Connection& connection, bool first);
  template <typename Stream>
  asio::awaitable<bool> serveRequest(Stream& stream, beast::flat_buffer& buffer, Listener listener);
  template <typename Stream>
  asio::awaitable<bool> answerReadError(Stream& stream, const error_code& ec, unsigned version);
  template <typename Stream>
  asio::awaitable<bool> sendContinue(Stream& stream, const Request& head);
  asio::awaitable<HttpResponse> dispatch(Listener listener, Request& request);
  asio::awaitable<HttpResponse> callApi(HttpRequest request);
  HttpResponse metricsResponse() const;

  asio::awaitable<void> close(PlainStream& stream, bool linger);
  asio::awaitable<void> close(TlsStream& stream, bool linger);
  template <typename Stream>
  asio::awaitable<void> discardInput(Stream& stream);

  ServerOptions options_;
  Handler& api_;
  Metrics* metrics_;

  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards connections_ and the stopping_ transition against track()
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  std::mutex wait_mu_;
  std::vector<std::thread> threads_;

  // Destroyed before the members above: leftover coroutine frames may still untrack.
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> accept_strand_{io_.get_executor()};
  std::optional<ssl::context> tls_;
  std::optional<tcp::acceptor> api_acceptor_;
  std::optional<tcp::acceptor> metrics_acceptor_;
  uint16_t port_ = 0;
  std::optional<uint16_t> metrics_port_;
};

// ---- startup ----------------------------------------------------------------------------

kw::Status HttpServer::Impl::validateOptions() const {
  if (options_.cert_file.empty() != options_.key_file.empty()) {
    return makeError("either both --cert-file and --key-file must be provided, or neither");
  }
  if (!options_.client_ca_file.empty() && options_.cert_file.empty()) {
    return makeError("a client CA (mTLS) requires TLS: provide --cert-file and --key-file");
  }
  return okStatus();
}

kw::Status HttpServer::Impl::setupTls() {
  tls_.emplace(ssl::context::tls_server);
  ssl::context& ctx = *tls_;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  // TLS 1.2 offers only forward-secret key exchange with AEAD ciphers (TLS 1.3's suites are all
  // of that kind already): no static RSA key exchange, no CBC with SHA-1.
  SSL_CTX_set_cipher_list(ctx.native_handle(),
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  error_code ec;
  ctx.use_certificate_chain_file(options_.cert_file, ec);
  if (ec) {
    return makeError(
        fmt::format("cannot load TLS certificate '{}': {}", options_.cert_file, ec.message()));
  }
  ctx.use_private_key_file(options_.key_file, ssl::context::pem, ec);
  if (ec) {
    return makeError(fmt::format("cannot load TLS key '{}': {}", options_.key_file, ec.message()));
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return makeError(fmt::format("TLS key '{}' and certificate '{}': key values mismatch",
                                 options_.key_file, options_.cert_file));
  }
  if (options_.client_ca_file.empty()) return okStatus();

  ctx.load_verify_file(options_.client_ca_file, ec);
  if (ec) {
    return makeError(
        fmt::format("cannot load client CA '{}': {}", options_.client_ca_file, ec.message()));
  }
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  // Tell clients which CAs we accept, so one with several certificates picks the right one.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options_.client_ca_file.c_str())) {
    SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  }
  // Session resumption with client verification fails without a session id context.
  static constexpr unsigned char kSessionContext[] = "kubewarden-policy-server";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  return okStatus();
}

kw::Result<tcp::acceptor> HttpServer::Impl::listen(uint16_t port, bool* address_in_use) {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.address, ec);
  if (ec) return makeError(fmt::format("invalid bind address '{}'", options_.address));
  tcp::endpoint endpoint(address, port);
  tcp::acceptor acceptor(accept_strand_);
  auto fail = [&](const char* what) {
    return makeError(
        fmt::format("cannot {} {}:{}: {}", what, options_.address, port, ec.message()));
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  acceptor.bind(endpoint, ec);
  if (ec) {
    if (address_in_use) *address_in_use = ec == asio::error::address_in_use;
    return fail("bind");
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  return acceptor;
}

kw::Status HttpServer::Impl::start() {
  if (!threads_.empty() || api_acceptor_) return makeError("the server was already started");
  if (stopping_) return makeError("the server was shut down");
  if (auto status = validateOptions(); !status) return status;
  if (!options_.cert_file.empty()) {
    if (auto status = setupTls(); !status) return status;
  }
  auto api = listen(options_.port);
  if (!api) return api.error();
  if (options_.metrics_port && options_.serve_metrics) {
    bool in_use = false;
    auto metrics = listen(*options_.metrics_port, &in_use);
    if (metrics) {
      metrics_acceptor_.emplace(std::move(*metrics));
      metrics_port_ = metrics_acceptor_->local_endpoint().port();
    } else if (in_use) {
      // Upstream's chart runs an OpenTelemetry collector sidecar on this port; metrics then
      // stay reachable on the main listener instead of stopping the server.
      spdlog::warn("{}: serving /metrics on the main port {} instead", metrics.error().message,
                   options_.port);
    } else {
      return metrics.error();
    }
  }
  api_acceptor_.emplace(std::move(*api));
  port_ = api_acceptor_->local_endpoint().port();

  asio::co_spawn(accept_strand_, acceptLoop(*api_acceptor_, Listener::kApi), asio::detached);
  if (metrics_acceptor_) {
    asio::co_spawn(accept_strand_, acceptLoop(*metrics_acceptor_, Listener::kMetrics),
                   asio::detached);
  }
  for (unsigned i = 0; i < std::max(1u, options_.threads); ++i) {
    threads_.emplace_back([this] { runNetworkThread(); });
  }
  spdlog::info("listening on {}://{}:{}", tls_ ? "https" : "http", options_.address, port_);
  if (metrics_port_)
    spdlog::info("metrics on http://{}:{}/metrics", options_.address, *metrics_port_);
  return okStatus();
}

void HttpServer::Impl::runNetworkThread() {
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      // Sessions catch their own errors; this is a last line of defence, not a code path.
      spdlog::error("HTTP network thread: {}", e.what());
    }
  }
}

// ---- shutdown ---------------------------------------------------------------------------

void HttpServer::Impl::shutdown() {
  std::vector<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard lock(mu_);
    if (stopping_.exchange(true)) return;
    connections.assign(connections_.begin(), connections_.end());
  }
  asio::post(accept_strand_, [this] {
    error_code ignored;
    if (api_acceptor_) api_acceptor_->close(ignored);
    if (metrics_acceptor_) metrics_acceptor_->close(ignored);
  });
  // Busy connections notice stopping_ once their answer is written; idle ones are woken here.
  // Both run on the connection's strand, so a connection cannot slip between the two.
  for (auto& connection : connections) {
    asio::post(connection->executor, [connection] {
      if (connection->transport != nullptr && connection->idle) connection->transport->cancel();
    });
  }
}

void HttpServer::Impl::wait() {
  std::lock_guard lock(wait_mu_);
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

// ---- accepting --------------------------------------------------------------------------

asio::awaitable<void> HttpServer::Impl::acceptLoop(tcp::acceptor& acceptor, Listener listener) {
  while (acceptor.is_open()) {
    asio::any_io_executor strand = asio::make_strand(io_);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kAwait);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
    if (ec) {
      // Typically EMFILE: back off instead of spinning on a listener that stays readable.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer timer(accept_strand_, kAcceptRetryDelay);
      co_await timer.async_wait(kAwait);
      continue;
    }
    std::shared_ptr<Connection> connection = track(strand);
    if (!connection) break;  // shutting down
    asio::co_spawn(strand, session(std::move(socket), listener, std::move(connection)),
                   asio::detached);
  }
}

std::shared_ptr<Connection> HttpServer::Impl::track(const asio::any_io_executor& executor) {
  std::lock_guard lock(mu_);
  if (stopping_) return nullptr;
  auto connection = std::make_shared<Connection>();
  connection->executor = executor;
  connections_.insert(connection);
  return connection;
}

void HttpServer::Impl::untrack(const std::shared_ptr<Connection>& connection) {
  connection->transport = nullptr;
  std::lock_guard lock(mu_);
  connections_.erase(connection);
}

asio::awaitable<void> HttpServer::Impl::session(tcp::socket socket, Listener listener,
                                                std::shared_ptr<Connection> connection) {
  error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  // Answers go out in one write; Nagle's algorithm would only hold a TLS record's tail back
  // until the client's delayed ACK.
  socket.set_option(tcp::no_delay(true), ec);
  try {
    if (listener == Listener::kApi && tls_) {
      TlsStream stream(std::move(socket), *tls_);
      connection->transport = &stream.next_layer();
      co_await serve(stream, listener, *connection);
    } else {
      PlainStream stream(std::move(socket));
      connection->transport = &stream;
      co_await serve(stream, listener, *connection);
    }
  } catch (const std::exception& e) {
    spdlog::debug("connection from {}:{} failed: {}", peer.address().to_string(), peer.port(),
                  e.what());
  }
  untrack(connection);
}

// ---- one connection ---------------------------------------------------------------------

template <typename Stream>
asio::awaitable<void> HttpServer::Impl::serve(Stream& stream, Listener listener,
                                              Connection& connection) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    transportOf(stream).expires_after(options_.header_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kAwait);
    if (ec) {
      spdlog::debug("TLS handshake failed: {}", ec.message());
      co_return;
    }
  }
  beast::flat_buffer buffer;
  bool keep_alive = true;
  for (bool first = true; keep_alive; first = false) {
    if (!co_await awaitRequestStart(stream, buffer, connection, first)) co_return;
    keep_alive = co_await serveRequest(stream, buffer, listener);
    connection.idle = true;
    if (stopping_) break;
  }
  // After a read error or a timeout the socket is already closed.
  if (transportOf(stream).socket().is_open()) co_await close(stream, false);
}

// Waits for the first byte of the next request. Separate from reading the headers so an idle
// keep-alive connection gets idle_timeout and is closed on shutdown, while a started request
// gets header_timeout and is allowed to finish.
template <typename Stream>
asio::awaitable<bool> HttpServer::Impl::awaitRequestStart(Stream& stream,
                                                          beast::flat_buffer& buffer,
                                                          Connection& connection, bool first) {
  if (buffer.size() == 0) {
    if (stopping_) co_return false;
    transportOf(stream).expires_after(first ? options_.header_timeout : options_.idle_timeout);
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kFirstReadChunk), kAwait);
    if (ec) {
      if (!isRoutineDisconnect(ec)) spdlog::debug("connection read failed: {}", ec.message());
      co_return false;
    }
    buffer.commit(n);
  }
  connection.idle = false;
  co_return true;
}

// Reads, dispatches and answers one request; returns whether the connection stays open.
template <typename Stream>
asio::awaitable<bool> HttpServer::Impl::serveRequest(Stream& stream, beast::flat_buffer& buffer,
                                                     Listener listener) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(options_.max_body_bytes);
  beast::tcp_stream& transport = transportOf(stream);

  transport.expires_after(options_.header_timeout);
  auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, kAwait);
  if (header_ec) co_return co_await answerReadError(stream, header_ec, 11);

  in_flight_.fetch_add(1);
  struct InFlight {
    std::atomic<size_t>& count;
    ~InFlight() { count.fetch_sub(1); }
  } in_flight{in_flight_};

  const unsigned version = parser.get().version();
  if (!parser.is_done()) {
    if (!co_await sendContinue(stream, parser.get())) co_return false;
    transport.expires_after(options_.read_timeout);
    auto [body_ec, body_bytes] = co_await http::async_read(stream, buffer, parser, kAwait);
    if (body_ec) co_return co_await answerReadError(stream, body_ec, version);
  }
  Request request = parser.release();
  transport.expires_never();  // the handler has its own (policy) timeout
  HttpResponse answer = co_await dispatch(listener, request);

  // Decided only now: shutdown() may have started while the handler ran, and then the answer
  // says "Connection: close" before we close.
  auto response = toBeastResponse(std::move(answer), version, request.keep_alive() && !stopping_);
  transport.expires_after(options_.read_timeout);
  auto [write_ec, written] = co_await http::async_write(stream, response, kAwait);
  if (write_ec) {
    spdlog::debug("writing a response failed: {}", write_ec.message());
    co_return false;
  }
  co_return response.keep_alive();
}

// Maps a failed read to an answer (400/413/431) or a silent close. Always ends the connection.
template <typename Stream>
asio::awaitable<bool> HttpServer::Impl::answerReadError(Stream& stream, const error_code& ec,
                                                        unsigned version) {
  std::optional<HttpResponse> answer;
  if (ec == http::error::body_limit) {
    answer = errorResponse(413, "request body too large");
  } else if (ec == http::error::header_limit) {
    answer = errorResponse(431, "request header fields too large");
  } else if (isHttpParseError(ec) && ec != http::error::partial_message &&
             ec != http::error::end_of_stream) {
    answer = errorResponse(400, fmt::format("bad request: {}", ec.message()));
  }
  if (!answer) {
    if (!isRoutineDisconnect(ec) && ec != http::error::partial_message) {
      spdlog::debug("reading a request failed: {}", ec.message());
    }
    co_await close(stream, false);
    co_return false;
  }
  spdlog::debug("rejecting a request: {}", ec.message());
  auto response = toBeastResponse(std::move(*answer), version, false);
  transportOf(stream).expires_after(options_.read_timeout);
  auto [write_ec, written] = co_await http::async_write(stream, response, kAwait);
  co_await close(stream, !write_ec);
  co_return false;
}

// Clients that sent "Expect: 100-continue" wait (curl: 1 s) for this before sending the body.
template <typename Stream>
asio::awaitable<bool> HttpServer::Impl::sendContinue(Stream& stream, const Request& head) {
  if (!beast::iequals(head[http::field::expect], "100-continue")) co_return true;
  http::response<http::empty_body> proceed{http::status::continue_, head.version()};
  transportOf(stream).expires_after(options_.read_timeout);
  auto [ec, n] = co_await http::async_write(stream, proceed, kAwait);
  co_return !ec;
}

bool HttpServer::Impl::servesMetrics(Listener listener, const Request& request) const {
  if (!options_.serve_metrics || request.method() != http::verb::get) return false;
  if (targetPath(request.target()) != "/metrics") return false;
  if (listener == Listener::kMetrics) return true;
  return !metrics_acceptor_ && metrics_ != nullptr;
}

asio::awaitable<HttpResponse> HttpServer::Impl::dispatch(Listener listener, Request& request) {
  if (servesMetrics(listener, request)) co_return metricsResponse();
  if (listener == Listener::kMetrics) co_return errorResponse(404, "not found");
  co_return co_await callApi(toHttpRequest(request));
}

HttpResponse HttpServer::Impl::metricsResponse() const {
  return HttpResponse{200, kMetricsContentType, metrics_ ? metrics_->render() : std::string()};
}

asio::awaitable<HttpResponse> HttpServer::Impl::callApi(HttpRequest request) {
  auto initiate = [this](auto handler, HttpRequest request) {
    using Pending = PendingAnswer<decltype(handler)>;
    auto pending = std::make_shared<Pending>(std::move(handler));
    try {
      api_.handle(std::move(request),
                  [pending](HttpResponse answer) { pending->complete(std::move(answer)); });
    } catch (const std::exception& e) {
      spdlog::error("request handler threw: {}", e.what());
      pending->complete(errorResponse(500, "Something went wrong"));
    }
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(HttpResponse)>(
      initiate, asio::use_awaitable, std::move(request));
}

// ---- closing ----------------------------------------------------------------------------

template <typename Stream>
asio::awaitable<void> HttpServer::Impl::discardInput(Stream& stream) {
  transportOf(stream).expires_after(kLingerTime);
  std::array<char, 16 << 10> sink;
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kAwait);
    if (ec) break;
  }
}

asio::awaitable<void> HttpServer::Impl::close(PlainStream& stream, bool linger) {
  error_code ignored;
  // FIN first, so the client knows the answer is complete even while we drain its input.
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (linger) co_await discardInput(stream);
  stream.socket().close(ignored);
}

asio::awaitable<void> HttpServer::Impl::close(TlsStream& stream, bool linger) {
  if (linger) co_await discardInput(stream);
  if (stream.next_layer().socket().is_open()) {
    stream.next_layer().expires_after(kTlsCloseTime);
    co_await stream.async_shutdown(kAwait);
  }
  error_code ignored;
  stream.next_layer().socket().close(ignored);
}

// ---- HttpServer -------------------------------------------------------------------------

HttpServer::HttpServer(ServerOptions options, Handler& api, Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), api, metrics)) {}
HttpServer::~HttpServer() = default;
kw::Status HttpServer::start() {
  return impl_->start();
}
uint16_t HttpServer::port() const {
  return impl_->port();
}
std::optional<uint16_t> HttpServer::metricsPort() const {
  return impl_->metricsPort();
}
void HttpServer::shutdown() {
  impl_->shutdown();
}
void HttpServer::wait() {
  impl_->wait();
}
size_t HttpServer::inFlight() const {
  return impl_->inFlight();
}

}  // namespace kw::http
