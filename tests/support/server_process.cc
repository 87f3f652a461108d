#include "support/server_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_env.h"

namespace kw::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;

fs::path makeTempDir() {
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() /
                 ("kw-server-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

template <typename Stream>
HttpResult exchange(Stream& stream, const std::string& method, const std::string& path,
                    const std::string& body, const std::string& content_type) {
  http::request<http::string_body> req{http::string_to_verb(method), path, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser);
  const auto& res = parser.get();
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::content_type])};
}

}  // namespace

uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool makeSelfSignedCert(const fs::path& dir) {
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
      " -addext subjectAltName=IP:127.0.0.1 -keyout " +
      (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

ServerProcess::ServerProcess(const std::string& policies_yml, std::vector<std::string> extra,
                             bool tls, TlsFiles tls_files)
    : dir_(makeTempDir()), port_(freePort()), tls_(tls) {
  std::ofstream(dir_ / "policies.yml") << policies_yml;
  std::vector<std::string> args = {(binDir() / "policy-server").string(),
                                   "--addr",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(port_),
                                   "--policies",
                                   (dir_ / "policies.yml").string()};
  // A test may bring its own download dir (e.g. to boot twice on one code cache).
  if (std::find(extra.begin(), extra.end(), "--policies-download-dir") == extra.end()) {
    args.insert(args.end(), {"--policies-download-dir", dir_.string()});
  }
  if (tls) {
    if (tls_files.cert.empty()) {
      makeSelfSignedCert(dir_);
      tls_files = {dir_ / "cert.pem", dir_ / "key.pem"};
    }
    args.insert(args.end(),
                {"--cert-file", tls_files.cert.string(), "--key-file", tls_files.key.string()});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = spawnLogged(std::move(args), dir_ / "server.log");
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && exit_status_ == -2) terminate(5000);
  fs::remove_all(dir_);
}

bool ServerProcess::waitReady(int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return false;
    }
    if (get("/readiness").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int ServerProcess::waitExit(int timeout_ms) {
  if (exit_status_ != -2) return exit_status_;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return exit_status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int ServerProcess::terminate(int timeout_ms) {
  if (exit_status_ != -2) return exit_status_;
  ::kill(pid_, SIGTERM);
  int status = waitExit(timeout_ms);
  if (status == -1 && exit_status_ == -2) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    exit_status_ = -1;
  }
  return exit_status_;
}

std::string ServerProcess::log() const {
  std::ifstream in(dir_ / "server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpResult ServerProcess::post(const std::string& path, const std::string& body,
                               const std::string& content_type) const {
  return request("POST", path, body, content_type);
}

HttpResult ServerProcess::get(const std::string& path) const {
  return request("GET", path, "", "");
}

HttpResult ServerProcess::getOnPort(uint16_t port, const std::string& path) const {
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return exchange(stream, "GET", path, "", "");
  } catch (const std::exception&) {
    return {};
  }
}

HttpResult ServerProcess::request(const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& content_type) const {
  try {
    asio::io_context ioc;
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
    if (!tls_) {
      beast::tcp_stream stream(ioc);
      stream.connect(ep);
      return exchange(stream, method, path, body, content_type);
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    beast::get_lowest_layer(stream).connect(ep);
    stream.handshake(asio::ssl::stream_base::client);
    return exchange(stream, method, path, body, content_type);
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace kw::test
