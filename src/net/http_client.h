// The one HTTP(S) client on libcurl, under the OCI registry client and the https:// policy
// fetcher, the Kubernetes API client (watches included) and the audit scanner's requests to
// policy-servers. Easy handles are pooled so connections and TLS sessions are reused; safe to
// use from many threads. Callers keep their own policy: credentials, retries, which hosts may be
// insecure, and the wording of their errors (Response::failure says what went wrong).
// libcurl's proxy variables (https_proxy, no_proxy...) apply as usual.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kw::net {

class CaCertificates;
namespace detail {
struct CancelAccess;
}

// Bodies collected in memory are capped so a broken or hostile server cannot grow the process.
inline constexpr uint64_t kDefaultMaxBody = 4u << 20;

struct TlsOptions {
  bool insecure = false;  // neither the server's certificate nor its name is checked
  std::string ca_pem;     // trusted instead of the system roots (a kubeconfig's CA)
  std::shared_ptr<const CaCertificates> extra_cas;  // trusted beside the system roots
  std::string client_cert_pem, client_key_pem;      // a client certificate, both PEM
};

// Lets another thread stop a transfer promptly: perform() then wakes and ends with kCancelled.
class Cancel {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  void reset() { cancelled_.store(false); }

 private:
  friend struct detail::CancelAccess;
  void attach(void* multi);
  void detach();
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  void* multi_ = nullptr;
};

struct Request {
  std::string method = "GET";
  std::string url;                   // absolute, http:// or https://
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when non-empty, and always for POST/PUT/PATCH
  std::optional<std::filesystem::path> body_file;  // streamed from disk instead of `body`
  TlsOptions tls;
  // "host:port:address:port": connect to `address` while the URL's host is still the name sent
  // (SNI, Host) and verified, e.g. one Pod behind a Service's certificate.
  std::string connect_to;
  bool follow_redirects = false;  // to https:// only, unless tls.insecure
  bool decompress = false;        // offer every Content-Encoding libcurl can decode
  long connect_timeout_ms = 10000;
  long timeout_ms = 0;     // the whole exchange; 0: none (watches, large downloads)
  long stall_seconds = 0;  // give up when nothing moved for this long; 0: never
  // Streams 2xx bodies; return false to stop. Unset, and for every other status, the body is
  // collected in Response::body, up to `max_body` bytes (more fails with kTooLarge).
  std::function<bool(const char* data, size_t size)> sink;
  uint64_t max_body = kDefaultMaxBody;
  // Bytes moved so far (body received or file uploaded) and the total when known.
  std::function<void(uint64_t done, uint64_t total)> progress;
  Cancel* cancel = nullptr;  // set: the transfer can be stopped from another thread
  bool verbose = false;      // request and response headers at debug level, credentials redacted
};

// Why a transfer failed; callers turn these into their own messages.
enum class Failure {
  kNone,
  kUnreachable,   // name resolution, connecting, or a timeout
  kTlsHandshake,  // the TLS handshake failed (e.g. the server speaks plain HTTP)
  kTlsVerify,     // the server's certificate is not trusted
  kProtocol,      // the connection broke, or the answer was not HTTP
  kTooLarge,      // a collected body passed Request::max_body
  kStopped,       // the sink returned false
  kCancelled,     // Request::cancel fired
  kOther,
};

struct Response {
  long status = 0;                             // 0: no HTTP answer arrived
  std::string status_line;                     // "HTTP/1.1 404 Not Found"
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined by ", "
  std::string body;
  std::string effective_url;
  Failure failure = Failure::kNone;  // statuses, 4xx/5xx included, are not failures
  std::string error;                 // what went wrong, when failure is set

  bool ok() const { return failure == Failure::kNone; }
  std::string header(const std::string& lower_name) const;
  std::string reason() const;  // "404 Not Found", also for HTTP/2 (no reason phrase)
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Response perform(const Request& request);

 private:
  void* acquire();
  void release(void* easy, bool reusable);

  std::mutex mu_;
  std::vector<void*> pool_;
};

}  // namespace kw::net
