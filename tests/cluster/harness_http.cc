#include "cluster/harness_http.h"

#include <utility>

#include "support/test_http.h"

namespace kw::cluster {

std::string HttpsAnswer::describe() const {
  if (status == 0) return error.empty() ? "no answer" : error;
  return "HTTP " + std::to_string(status) + ": " + body.substr(0, 300);
}

HttpsAnswer httpsGet(const std::string& url, const std::filesystem::path& ca,
                     const std::filesystem::path& cert, const std::filesystem::path& key,
                     long timeout_ms) {
  net::Request request;
  request.url = url;
  request.timeout_ms = timeout_ms;
  auto response = test::performTrusting(request, ca, cert, key);
  HttpsAnswer answer;
  answer.body = std::move(response.body);
  if (response.ok())
    answer.status = response.status;
  else
    answer.error = response.error;
  return answer;
}

}  // namespace kw::cluster
