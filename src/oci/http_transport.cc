#include "oci/http_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <set>

#include "oci/tls_authorities.h"

namespace kw::oci {
namespace {

using net::Failure;

constexpr long kStallSeconds = 120;  // give up on a transfer that moved nothing for this long

// Failures after which an insecure host is retried over plain HTTP: what a TLS client sees when
// the server does not speak TLS.
bool isTlsFailure(Failure failure) {
  return failure == Failure::kTlsHandshake || failure == Failure::kTlsVerify ||
         failure == Failure::kProtocol;
}

bool isHttps(const std::string& url) {
  return url.rfind("https://", 0) == 0;
}

}  // namespace

std::string urlHost(const std::string& url) {
  auto sep = url.find("://");
  if (sep == std::string::npos) return {};
  std::string rest = url.substr(sep + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

struct HttpTransport::Impl {
  Sources sources;
  bool verbose = false;
  ProgressFn progress;
  long connect_timeout = 10;
  TlsAuthorities authorities;
  net::HttpClient http;

  mutable std::mutex mu;
  std::set<std::string> plain_http_hosts;  // insecure hosts that turned out not to speak TLS

  Impl(Sources s, bool v, ProgressFn p, long t)
      : sources(std::move(s)),
        verbose(v),
        progress(std::move(p)),
        connect_timeout(t),
        authorities(sources) {}

  bool insecure(const std::string& host) const { return sources.insecure_sources.count(host); }

  net::Response once(const HttpRequest& req, const std::string& url, const std::string& host);
  Error describe(const HttpRequest& req, const std::string& url, const std::string& host,
                 const net::Response& response) const;
  Result<HttpResponse> perform(const HttpRequest& req);
};

net::Response HttpTransport::Impl::once(const HttpRequest& req, const std::string& url,
                                        const std::string& host) {
  net::Request request = req;
  request.url = url;
  request.tls.insecure = insecure(host);
  request.tls.extra_cas = authorities.forHost(host);
  request.connect_timeout_ms = connect_timeout * 1000;
  request.stall_seconds = kStallSeconds;
  request.verbose = verbose;
  if (req.report_progress && progress) {
    request.progress = [this, known = req.progress_total](uint64_t done, uint64_t total) {
      progress(done, known ? known : total);
    };
  }
  return http.perform(request);
}

Error HttpTransport::Impl::describe(const HttpRequest& req, const std::string& url,
                                    const std::string& host, const net::Response& response) const {
  const std::string& who = req.label.empty() ? url : req.label;
  const std::string& detail = response.error;
  switch (response.failure) {
    case Failure::kTooLarge:
      return makeError(fmt::format("refused the response from {}: its body is larger than {} bytes",
                                   who, req.max_body));
    case Failure::kStopped:
      return makeError(fmt::format("writing the download from {} failed", url));
    case Failure::kTlsVerify:
      return makeError(fmt::format(
          "TLS certificate verification failed for {}: {} (add its CA to source_authorities in "
          "sources.yml, or list {} in insecure_sources)",
          who, detail, host));
    case Failure::kTlsHandshake:
      if (!insecure(host) && isHttps(url)) {
        return makeError(fmt::format(
            "cannot reach {}: TLS handshake failed: {} (if {} serves plain HTTP, list it in "
            "insecure_sources in sources.yml)",
            who, detail, host));
      }
      [[fallthrough]];
    case Failure::kUnreachable:
    case Failure::kProtocol:
      return makeError(fmt::format("cannot reach {}: {}", who, detail));
    default:
      return makeError(fmt::format("request to {} failed: {}", who, detail));
  }
}

Result<HttpResponse> HttpTransport::Impl::perform(const HttpRequest& req) {
  std::string host = urlHost(req.url);
  if (host.empty()) return makeError(fmt::format("not an absolute URL: {}", req.url));
  bool is_http = req.url.rfind("http://", 0) == 0;
  if (!is_http && !isHttps(req.url)) {
    return makeError(fmt::format("unsupported URL scheme in {}", req.url));
  }
  if (is_http && !insecure(host)) {
    return makeError(fmt::format(
        "refusing plain HTTP to {}: list {} in insecure_sources in sources.yml to allow it",
        req.label, host));
  }
  if (Status st = authorities.status(host); !st) return st.error();
  std::string url = req.url;
  bool known_plain = false;
  {
    std::lock_guard lock(mu);
    known_plain = plain_http_hosts.count(host) > 0;
  }
  if (!is_http && known_plain) url = "http://" + url.substr(8);

  net::Response response = once(req, url, host);
  if (!response.ok() && insecure(host) && isHttps(url) && isTlsFailure(response.failure)) {
    spdlog::debug("{} does not speak TLS; retrying over plain HTTP (insecure source)", host);
    url = "http://" + url.substr(8);
    response = once(req, url, host);
    if (response.ok()) {
      std::lock_guard lock(mu);
      plain_http_hosts.insert(host);
    }
  }
  if (!response.ok()) return describe(req, url, host, response);
  return response;
}

HttpTransport::HttpTransport(Sources sources, bool verbose, ProgressFn progress,
                             long connect_timeout_seconds)
    : impl_(std::make_unique<Impl>(std::move(sources), verbose, std::move(progress),
                                   connect_timeout_seconds)) {}

HttpTransport::~HttpTransport() = default;

Result<HttpResponse> HttpTransport::perform(const HttpRequest& request) {
  return impl_->perform(request);
}

std::string HttpTransport::schemeFor(const std::string& host) const {
  std::lock_guard lock(impl_->mu);
  return impl_->plain_http_hosts.count(host) ? "http" : "https";
}

}  // namespace kw::oci
