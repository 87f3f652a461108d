#include "net/transfer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "net/ca_certificates.h"

namespace kw::net::detail {
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

bool success(long status) {
  return status >= 200 && status < 300;
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

uint64_t Transfer::total() const {
  if (upload) return upload_size;
  std::string len = response->header("content-length");
  return len.empty() ? 0 : std::strtoull(len.c_str(), nullptr, 10);
}

void Transfer::reportProgress(size_t n) {
  moved += n;
  if (request->progress) request->progress(moved, total());
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  Response& response = *t->response;
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (redirect, 100 Continue): start over
    response.status_line = line;
    response.headers.clear();
    response.body.clear();
    auto sp = line.find(' ');  // "HTTP/1.1 200 OK", "HTTP/2 200"
    response.status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    if (t->request->verbose) spdlog::debug("< {}", line);
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  if (t->request->verbose) spdlog::debug("< {}", redactHeader(line));
  auto& slot = response.headers[lower(line.substr(0, colon))];
  std::string value = trim(line.substr(colon + 1));
  slot = slot.empty() ? value : slot + ", " + value;
  return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  // Error bodies are always collected, never streamed: callers read them for the message.
  if (t->request->sink && success(t->response->status)) {
    if (!t->request->sink(data, len)) {
      t->stopped = true;
      return 0;  // aborts the transfer
    }
  } else {
    if (t->response->body.size() + len > t->request->max_body) {
      t->too_large = true;
      return 0;  // aborts the transfer before the body can grow further
    }
    t->response->body.append(data, len);
  }
  t->reportProgress(len);
  return len;
}

size_t onRead(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t got = std::fread(buffer, 1, size * n, t->upload);
  if (got == 0 && std::ferror(t->upload)) return CURL_READFUNC_ABORT;
  t->reportProgress(got);
  return got;
}

CURLcode onSslCtx(CURL*, void* ssl_ctx, void* user) {
  static_cast<Transfer*>(user)->request->tls.extra_cas->addTo(static_cast<SSL_CTX*>(ssl_ctx));
  return CURLE_OK;
}

}  // namespace kw::net::detail
