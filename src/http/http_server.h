// The policy-server's HTTP transport: HTTP/1.1 with keep-alive (optionally over TLS or mTLS)
// on Boost.Beast and Asio coroutines. It parses requests, enforces size limits and timeouts,
// answers GET /metrics itself, and hands every other request to the admission API (Handler).
// Boost stays out of this header so the rest of the tree compiles without it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "http/http_types.h"
#include "http/metrics.h"

namespace kw::http {

struct ServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 3000;             // 0 = pick a free port
  std::string cert_file, key_file;  // TLS iff both set (PEM); the cert file may hold a chain
  std::string client_ca_file;       // optional mTLS: require and verify client certificates
  size_t max_body_bytes = 10 << 20;
  // header: from accepting a connection (incl. the TLS handshake) or from the first byte of a
  // request until its headers are complete. read: the body, and writing the answer.
  // idle: a keep-alive connection waiting for its next request.
  std::chrono::milliseconds header_timeout{10000}, read_timeout{30000}, idle_timeout{60000};
  unsigned threads = 1;                  // network threads (evaluations run elsewhere)
  std::optional<uint16_t> metrics_port;  // separate plain-HTTP listener for /metrics (0 = any)
  bool serve_metrics = true;
};

class HttpServer {
 public:
  // `api` and `metrics` (may be null: no /metrics) must outlive the server.
  HttpServer(ServerOptions options, Handler& api, Metrics* metrics);
  // Shuts down and waits: in-flight requests are still answered first.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS material, binds and listens, then serves on the network threads. Errors are
  // readable text ("cannot bind 0.0.0.0:3000: Address already in use", bad cert/key...).
  kw::Status start();
  uint16_t port() const;                        // the bound port (after start)
  std::optional<uint16_t> metricsPort() const;  // the metrics listener's port, if any

  // Graceful stop, callable from any thread, idempotent: stop accepting, close idle keep-alive
  // connections, let in-flight requests finish and be answered (with Connection: close).
  void shutdown();
  // Blocks until the server has stopped (after shutdown()) and the network threads are joined.
  void wait();
  // Requests whose headers were read and whose answer is not yet fully written.
  size_t inFlight() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kw::http
