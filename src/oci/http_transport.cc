#include "oci/http_transport.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <set>

#include "oci/curl_exchange.h"
#include "oci/tls_authorities.h"

namespace kw::oci {
namespace {

using detail::Exchange;
using detail::onBody;
using detail::onHeader;
using detail::onRead;
using detail::onSslCtx;
using detail::redactHeader;

constexpr size_t kMaxPooledHandles = 8;

// TLS-level failures after which an insecure host is retried over plain HTTP.
bool isTlsFailure(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpResponse::reason() const {
  auto sp = status_line.find(' ');
  std::string text = sp == std::string::npos ? std::string() : status_line.substr(sp + 1);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.find(' ') != std::string::npos) return text;
  // HTTP/2 has no reason phrase; keep messages the same across protocol versions.
  static const std::map<long, const char*> kPhrases = {{400, "Bad Request"},
                                                       {401, "Unauthorized"},
                                                       {403, "Forbidden"},
                                                       {404, "Not Found"},
                                                       {405, "Method Not Allowed"},
                                                       {429, "Too Many Requests"},
                                                       {500, "Internal Server Error"},
                                                       {502, "Bad Gateway"},
                                                       {503, "Service Unavailable"}};
  auto it = kPhrases.find(status);
  return it == kPhrases.end() ? std::to_string(status) : std::to_string(status) + " " + it->second;
}

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

  mutable std::mutex mu;
  std::vector<CURL*> pool;
  std::set<std::string> plain_http_hosts;  // insecure hosts that turned out not to speak TLS

  Impl(Sources s, bool v, ProgressFn p, long t)
      : sources(std::move(s)),
        verbose(v),
        progress(std::move(p)),
        connect_timeout(t),
        authorities(sources) {}

  ~Impl() {
    for (CURL* h : pool) curl_easy_cleanup(h);
  }

  bool insecure(const std::string& host) const { return sources.insecure_sources.count(host); }

  CURL* acquire() {
    std::lock_guard lock(mu);
    if (pool.empty()) return curl_easy_init();
    CURL* h = pool.back();
    pool.pop_back();
    return h;
  }
  void release(CURL* h) {
    curl_easy_reset(h);  // keeps the connection cache
    std::lock_guard lock(mu);
    if (pool.size() < kMaxPooledHandles) {
      pool.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }

  Result<HttpResponse> once(const HttpRequest& req, const std::string& url, CURLcode* code);
  Result<HttpResponse> perform(const HttpRequest& req);
};

Result<HttpResponse> HttpTransport::Impl::once(const HttpRequest& req, const std::string& url,
                                               CURLcode* code) {
  HttpResponse response;
  Exchange ex;
  ex.request = &req;
  ex.response = &response;
  ex.progress = &progress;
  ex.verbose = verbose;
  ex.authorities = &authorities;
  ex.host = urlHost(url);

  std::unique_ptr<FILE, int (*)(FILE*)> upload(nullptr, &std::fclose);
  if (req.body_file) {
    upload.reset(std::fopen(req.body_file->c_str(), "rb"));
    if (!upload) return makeError(fmt::format("cannot read {}", req.body_file->string()));
    std::error_code ec;
    ex.upload_size = std::filesystem::file_size(*req.body_file, ec);
    ex.upload = upload.get();
  }

  CURL* h = acquire();
  if (!h) return makeError("cannot create a libcurl handle");
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& hd : req.headers) headers = curl_slist_append(headers, hd.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_timeout);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);  // give up on a stalled transfer
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "kubewarden-cpp");
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, insecure(ex.host) ? "http,https" : "https");

  if (insecure(ex.host)) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (authorities.has(ex.host)) {
#if LIBCURL_VERSION_NUM >= 0x075700
    // A cached CA store is shared between connections; ours must not leak into it.
    curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, onSslCtx);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &ex);
  }

  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.body_file) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, onRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &ex);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(ex.upload_size));
    if (req.method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  if (verbose) {
    spdlog::debug("> {} {}", req.method, url);
    for (const auto& hd : req.headers) spdlog::debug("> {}", redactHeader(hd));
  }
  *code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  char* effective = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) response.effective_url = effective;
  curl_slist_free_all(headers);
  release(h);

  if (*code == CURLE_OK) return response;
  if (ex.body_too_large) {
    return makeError(fmt::format("refused the response from {}: its body is larger than {} bytes",
                                 req.label.empty() ? url : req.label, req.max_body));
  }
  if (ex.sink_failed) return makeError(fmt::format("writing the download from {} failed", url));
  std::string detail = errbuf[0] ? std::string(errbuf) : curl_easy_strerror(*code);
  if (*code == CURLE_PEER_FAILED_VERIFICATION || *code == CURLE_SSL_CACERT_BADFILE) {
    return makeError(fmt::format(
        "TLS certificate verification failed for {}: {} (add its CA to source_authorities in "
        "sources.yml, or list {} in insecure_sources)",
        req.label, detail, ex.host));
  }
  if (*code == CURLE_SSL_CONNECT_ERROR && !insecure(ex.host) && url.rfind("https://", 0) == 0) {
    return makeError(fmt::format(
        "cannot reach {}: TLS handshake failed: {} (if {} serves plain HTTP, list it in "
        "insecure_sources in sources.yml)",
        req.label, detail, ex.host));
  }
  if (*code == CURLE_COULDNT_CONNECT || *code == CURLE_COULDNT_RESOLVE_HOST ||
      *code == CURLE_OPERATION_TIMEDOUT || isTlsFailure(*code)) {
    return makeError(fmt::format("cannot reach {}: {}", req.label, detail));
  }
  return makeError(fmt::format("request to {} failed: {}", req.label, detail));
}

Result<HttpResponse> HttpTransport::Impl::perform(const HttpRequest& req) {
  std::string host = urlHost(req.url);
  if (host.empty()) return makeError(fmt::format("not an absolute URL: {}", req.url));
  bool is_http = req.url.rfind("http://", 0) == 0;
  if (!is_http && req.url.rfind("https://", 0) != 0) {
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

  CURLcode code = CURLE_OK;
  auto result = once(req, url, &code);
  bool retry_plain =
      !result.ok() && insecure(host) && url.rfind("https://", 0) == 0 && isTlsFailure(code);
  if (!retry_plain) return result;
  spdlog::debug("{} does not speak TLS; retrying over plain HTTP (insecure source)", host);
  auto plain = once(req, "http://" + url.substr(8), &code);
  if (plain.ok()) {
    std::lock_guard lock(mu);
    plain_http_hosts.insert(host);
  }
  return plain;
}

HttpTransport::HttpTransport(Sources sources, bool verbose, ProgressFn progress,
                             long connect_timeout_seconds) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_ = std::make_unique<Impl>(std::move(sources), verbose, std::move(progress),
                                 connect_timeout_seconds);
}

HttpTransport::~HttpTransport() = default;

Result<HttpResponse> HttpTransport::perform(const HttpRequest& request) {
  return impl_->perform(request);
}

std::string HttpTransport::schemeFor(const std::string& host) const {
  std::lock_guard lock(impl_->mu);
  return impl_->plain_http_hosts.count(host) ? "http" : "https";
}

}  // namespace kw::oci
