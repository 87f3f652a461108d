#include "oci/curl_exchange.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "oci/tls_authorities.h"

namespace kw::oci::detail {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

// Credentials never reach the log.
std::string redactHeader(const std::string& header) {
  std::string name = lower(header.substr(0, header.find(':')));
  if (name == "authorization" || name == "proxy-authorization" || name == "cookie" ||
      name == "set-cookie") {
    return header.substr(0, header.find(':')) + ": <redacted>";
  }
  return header;
}

uint64_t Exchange::total() const {
  if (request->progress_total) return request->progress_total;
  if (upload) return upload_size;
  std::string len = response->header("content-length");
  return len.empty() ? 0 : std::strtoull(len.c_str(), nullptr, 10);
}

void Exchange::reportProgress(size_t n) {
  moved += n;
  if (request->report_progress && progress && *progress) (*progress)(moved, total());
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (redirect, 100 Continue): start over
    ex->response->status_line = line;
    ex->response->headers.clear();
    auto sp = line.find(' ');  // "HTTP/1.1 200 OK", "HTTP/2 200"
    ex->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    if (ex->verbose) spdlog::debug("< {}", line);
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  if (ex->verbose) spdlog::debug("< {}", redactHeader(line));
  std::string name = lower(line.substr(0, colon));
  std::string value = trim(line.substr(colon + 1));
  auto& slot = ex->response->headers[name];
  slot = slot.empty() ? value : slot + ", " + value;
  return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t len = size * n;
  // Error bodies (JSON from the registry) are always collected, never streamed to the sink.
  if (ex->request->sink && ex->status >= 200 && ex->status < 300) {
    if (!ex->request->sink(data, len)) {
      ex->sink_failed = true;
      return 0;
    }
  } else {
    if (ex->response->body.size() + len > ex->request->max_body) {
      ex->body_too_large = true;
      return 0;  // aborts the transfer before the body can grow further
    }
    ex->response->body.append(data, len);
  }
  ex->reportProgress(len);
  return len;
}

size_t onRead(char* buffer, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t got = std::fread(buffer, 1, size * n, ex->upload);
  if (got == 0 && std::ferror(ex->upload)) return CURL_READFUNC_ABORT;
  ex->reportProgress(got);
  return got;
}

CURLcode onSslCtx(CURL*, void* ssl_ctx, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  ex->authorities->addTo(static_cast<SSL_CTX*>(ssl_ctx), ex->host);
  return CURLE_OK;
}

}  // namespace kw::oci::detail
