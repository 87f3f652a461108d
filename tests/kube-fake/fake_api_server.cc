#include "kube-fake/fake_api_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>

#include "common/base64.h"
#include "kube-fake/fake_cert.h"
#include "kube-fake/fake_routes.h"

namespace kw::kube::fake {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

struct FakeApiServer::Connection {
  std::thread thread;
  std::mutex mu;
  int fd = -1;  // -1 once the session is closing; guarded by mu
  std::atomic<bool> done{false};
  void cut() {
    std::lock_guard lock(mu);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
};

FakeApiServer::FakeApiServer(Options options)
    : options_(std::move(options)), store_(options_.history_limit) {}

Result<std::unique_ptr<FakeApiServer>> FakeApiServer::start(Options options) {
  std::unique_ptr<FakeApiServer> server(new FakeApiServer(std::move(options)));
  for (FakeType& t : builtinTypes()) server->store_.registerType(std::move(t));
  server->setToken(server->options_.admin_token, "fake-admin");
  CertPair cert = makeSelfSignedCert();
  server->cert_pem_ = cert.cert_pem;
  server->key_pem_ = cert.key_pem;
  auto* ctx = new ssl::context(ssl::context::tls_server);
  server->ssl_ctx_ = ctx;
  try {
    ctx->use_certificate_chain(asio::buffer(cert.cert_pem));
    ctx->use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
  } catch (const std::exception& e) {
    return makeError(std::string("fake kube-apiserver: TLS setup failed: ") + e.what());
  }
  if (auto s = server->listen(); !s) return s.error();
  server->acceptor_ = std::thread([s = server.get()] { s->acceptLoop(); });
  return server;
}

Status FakeApiServer::listen() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options_.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0)
    return makeError(fmt::format("fake kube-apiserver: cannot listen on 127.0.0.1:{}: {}",
                                 options_.port, std::strerror(errno)));
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  return okStatus();
}

FakeApiServer::~FakeApiServer() {
  stopping_.store(true);
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes the blocking accept
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::list<std::unique_ptr<Connection>> conns;
  {
    std::lock_guard lock(mu_);
    conns.swap(connections_);
  }
  for (auto& c : conns) c->cut();
  {
    std::lock_guard lock(store_.mutex());
    store_.changed().notify_all();
  }
  for (auto& c : conns)
    if (c->thread.joinable()) c->thread.join();
  delete static_cast<ssl::context*>(ssl_ctx_);
}

void FakeApiServer::acceptLoop() {
  while (!stopping_.load()) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load()) return;
      continue;
    }
    int one = 1;  // small writes (headers, watch events) must not wait for delayed ACKs
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu_);
    connections_.remove_if([](const std::unique_ptr<Connection>& c) {
      if (!c->done.load()) return false;
      c->thread.join();
      return true;
    });
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    Connection* raw = conn.get();
    connections_.push_back(std::move(conn));
    raw->thread = std::thread([this, raw] { serve(raw); });
  }
}

std::string FakeApiServer::url() const {
  return fmt::format("https://127.0.0.1:{}", port_);
}
const std::string& FakeApiServer::caPem() const {
  return cert_pem_;
}

Status FakeApiServer::writeKubeconfig(const std::filesystem::path& path,
                                      const std::string& token) const {
  std::string text = fmt::format(
      "apiVersion: v1\nkind: Config\ncurrent-context: kube-fake\nclusters:\n- name: kube-fake\n"
      "  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n"
      "- name: kube-fake\n  context:\n    cluster: kube-fake\n    user: kube-fake-user\n"
      "users:\n- name: kube-fake-user\n  user:\n    token: {}\n",
      url(), base64Encode(cert_pem_), token.empty() ? options_.admin_token : token);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) return makeError("cannot write kubeconfig " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return makeError("cannot write kubeconfig " + path.string() + ": " + ec.message());
  return okStatus();
}

void FakeApiServer::setToken(const std::string& token, const std::string& user,
                             std::optional<std::set<std::string>> allowed) {
  std::lock_guard lock(mu_);
  tokens_[token] = Grant{user, std::move(allowed)};
}

Result<std::string> FakeApiServer::put(nlohmann::json object) {
  auto type = store_.findKind(object.value("apiVersion", ""), object.value("kind", ""));
  if (!type) return makeError("fake kube-apiserver: unregistered kind in " + object.dump());
  if (!object.contains("metadata") || object["metadata"].value("name", "").empty())
    return makeError("fake kube-apiserver: object has no metadata.name");
  return store_.upsert(*type, std::move(object));
}

bool FakeApiServer::remove(const std::string& api_version, const std::string& kind,
                           const std::string& ns, const std::string& name) {
  auto type = store_.findKind(api_version, kind);
  return type && store_.remove(*type, ns, name).status == 200;
}

void FakeApiServer::closeWatches() {
  watch_generation_.fetch_add(1);
  std::lock_guard lock(store_.mutex());
  store_.changed().notify_all();
}

std::vector<std::string> FakeApiServer::requests() const {
  std::lock_guard lock(mu_);
  return request_log_;
}

size_t FakeApiServer::countRequests(const std::string& prefix) const {
  std::lock_guard lock(mu_);
  return std::count_if(request_log_.begin(), request_log_.end(),
                       [&](const std::string& r) { return r.rfind(prefix, 0) == 0; });
}

void FakeApiServer::serve(Connection* conn) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.assign(asio::ip::tcp::v4(), conn->fd, ec);
  if (ec) ::close(conn->fd);
  if (!ec) {
    TlsStream stream(std::move(socket), *static_cast<ssl::context*>(ssl_ctx_));
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) {
      Router router{*this, stream, [conn] { conn->cut(); }};
      router.run();
    }
    std::lock_guard lock(conn->mu);
    conn->fd = -1;  // before the stream closes the descriptor, which may then be reused
  }
  std::lock_guard lock(conn->mu);
  conn->fd = -1;
  conn->done.store(true);
}

}  // namespace kw::kube::fake
