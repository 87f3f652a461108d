#include "support/test_http.h"

#include <utility>

#include "common/file_read.h"

namespace kw::test {
namespace {

// The file's text into `pem`; false, with `response` failed naming the file, when unreadable.
bool readPem(const std::filesystem::path& file, std::string& pem, net::Response& response) {
  auto text = readFileBounded(file);
  if (text) {
    pem = std::move(*text);
    return true;
  }
  response.failure = net::Failure::kOther;
  response.error = text.error().message;
  return false;
}

}  // namespace

net::Response performTrusting(net::Request request, const std::filesystem::path& ca,
                              const std::filesystem::path& cert, const std::filesystem::path& key) {
  net::Response unread;
  if (!ca.empty() && !readPem(ca, request.tls.ca_pem, unread)) return unread;
  if (!cert.empty() && (!readPem(cert, request.tls.client_cert_pem, unread) ||
                        !readPem(key, request.tls.client_key_pem, unread)))
    return unread;
  return net::HttpClient().perform(request);
}

long probeStatus(const std::string& url, long timeout_ms) {
  net::Request request;
  request.url = url;
  request.tls.insecure = true;
  request.timeout_ms = timeout_ms;
  request.sink = [](const char*, size_t) { return true; };  // only the status matters
  auto response = net::HttpClient().perform(request);
  return response.ok() ? response.status : 0;
}

}  // namespace kw::test
