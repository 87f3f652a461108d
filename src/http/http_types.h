// The seam between the HTTP transport (http_server.*) and the admission API (api.*): the
// transport parses bytes into an HttpRequest and hands it to a Handler; the handler answers
// through `done`, from any thread (evaluations run on worker threads, not network threads).
#pragma once

#include <functional>
#include <string>

namespace kw::http {

struct HttpRequest {
  std::string method;        // "GET", "POST", ...
  std::string target;        // path, without query string
  std::string content_type;  // the Content-Type header, as sent ("" when absent)
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Must call `done` exactly once, on any thread.
  virtual void handle(HttpRequest request, std::function<void(HttpResponse)> done) = 0;
};

}  // namespace kw::http
