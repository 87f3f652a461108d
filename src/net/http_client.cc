#include "net/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "net/ca_certificates.h"
#include "net/transfer.h"

namespace kw::net {
namespace detail {

struct CancelAccess {
  static void attach(Cancel& cancel, void* multi) { cancel.attach(multi); }
  static void detach(Cancel& cancel) { cancel.detach(); }
};

}  // namespace detail
namespace {

using detail::CancelAccess;
using detail::Transfer;

// Idle handles kept for reuse (each holds its open connections); more are closed on release.
constexpr size_t kMaxPooledHandles = 32;
constexpr int kPollMs = 1000;

Failure classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
      return Failure::kUnreachable;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
      return Failure::kTlsHandshake;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Failure::kTlsVerify;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
      return Failure::kProtocol;
    default:
      return Failure::kOther;
  }
}

bool sendsBody(const Request& req) {
  return !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
}

void setBody(CURL* h, const Request& req, Transfer& t) {
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (t.upload) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, detail::onRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.upload_size));
    if (req.method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (sendsBody(req)) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
}

void setTls(CURL* h, const Request& req, Transfer& t) {
  const TlsOptions& tls = req.tls;
  if (tls.insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!tls.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!tls.insecure && tls.extra_cas && !tls.extra_cas->empty()) {
#if LIBCURL_VERSION_NUM >= 0x075700
    // A cached CA store is shared between connections; ours must not leak into it.
    curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, detail::onSslCtx);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &t);
  }
  // libcurl reuses only a connection made with the same certificate, so a new one (an exec
  // plugin's, say) opens a new TLS session.
  if (!tls.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(tls.client_cert_pem.data()), tls.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(tls.client_key_pem.data()), tls.client_key_pem.size(),
                  CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
}

void setOptions(CURL* h, const Request& req, Transfer& t, char* errbuf) {
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "kubewarden-cpp");
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, req.tls.insecure ? "http,https" : "https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  if (req.stall_seconds > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req.stall_seconds);
  }
  if (req.decompress) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, detail::onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, detail::onBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  setTls(h, req, t);
  setBody(h, req, t);
}

// Runs the transfer on a multi handle so that Cancel::cancel() can wake its poll.
CURLcode performCancellable(CURL* h, Cancel& cancel) {
  CURLM* multi = curl_multi_init();
  curl_multi_add_handle(multi, h);
  CancelAccess::attach(cancel, multi);
  int running = 1;
  CURLcode result = CURLE_OK;
  while (running && !cancel.cancelled()) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
    if (running) curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
  }
  CancelAccess::detach(cancel);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left))
    if (msg->msg == CURLMSG_DONE) result = msg->data.result;
  curl_multi_remove_handle(multi, h);
  curl_multi_cleanup(multi);
  return result;
}

void fail(Response& response, Failure failure, std::string error) {
  response.failure = failure;
  response.error = std::move(error);
}

}  // namespace

void Cancel::cancel() {
  cancelled_.store(true);
  std::lock_guard lock(mu_);
  if (multi_) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void Cancel::attach(void* multi) {
  std::lock_guard lock(mu_);
  multi_ = multi;
}

void Cancel::detach() {
  std::lock_guard lock(mu_);
  multi_ = nullptr;
}

std::string Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Response::reason() const {
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

HttpClient::HttpClient() {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::~HttpClient() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::acquire() {
  std::lock_guard lock(mu_);
  if (pool_.empty()) return curl_easy_init();
  void* h = pool_.back();
  pool_.pop_back();
  return h;
}

void HttpClient::release(void* easy, bool reusable) {
  CURL* h = static_cast<CURL*>(easy);
  // A failed or stopped transfer may leave its connection mid-answer: never reuse it.
  if (!reusable) return curl_easy_cleanup(h);
  curl_easy_reset(h);  // keeps the connection cache
  std::lock_guard lock(mu_);
  if (pool_.size() < kMaxPooledHandles) {
    pool_.push_back(h);
  } else {
    curl_easy_cleanup(h);
  }
}

Response HttpClient::perform(const Request& req) {
  Response response;
  Transfer t;
  t.request = &req;
  t.response = &response;
  std::unique_ptr<FILE, int (*)(FILE*)> upload(nullptr, &std::fclose);
  if (req.body_file) {
    upload.reset(std::fopen(req.body_file->c_str(), "rb"));
    if (!upload) {
      fail(response, Failure::kOther,
           fmt::format("cannot read {}: {}", req.body_file->string(), std::strerror(errno)));
      return response;
    }
    std::error_code ec;
    t.upload_size = std::filesystem::file_size(*req.body_file, ec);
    t.upload = upload.get();
  }
  CURL* h = static_cast<CURL*>(acquire());
  if (!h) {
    fail(response, Failure::kOther, "cannot create a libcurl handle");
    return response;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& header : req.headers) headers = curl_slist_append(headers, header.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_slist* connect_to =
      req.connect_to.empty() ? nullptr : curl_slist_append(nullptr, req.connect_to.c_str());
  setOptions(h, req, t, errbuf);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
  if (req.verbose) {
    spdlog::debug("> {} {}", req.method, req.url);
    for (const auto& header : req.headers) spdlog::debug("> {}", detail::redactHeader(header));
  }

  CURLcode code = req.cancel ? performCancellable(h, *req.cancel) : curl_easy_perform(h);
  if (response.status == 0) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  char* effective = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) response.effective_url = effective;

  if (req.cancel && req.cancel->cancelled()) {
    fail(response, Failure::kCancelled, "cancelled");
  } else if (t.too_large) {
    fail(response, Failure::kTooLarge,
         fmt::format("the body is larger than {} bytes", req.max_body));
  } else if (t.stopped) {
    fail(response, Failure::kStopped, "the receiver stopped the transfer");
  } else if (code != CURLE_OK) {
    fail(response, classify(code), errbuf[0] ? std::string(errbuf) : curl_easy_strerror(code));
  }
  // The lists must outlive the transfer only; the handle keeps its connections.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_CONNECT_TO, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);
  release(h, response.ok());
  return response;
}

}  // namespace kw::net
