// Request routing of the fake Kubernetes API server: one Router per connection, reading
// requests until the peer goes away; watch requests turn the connection into an event stream.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <map>
#include <string>

#include "kube-fake/fake_store.h"

namespace kw::kube::fake {

using TlsStream = boost::beast::ssl_stream<boost::asio::ip::tcp::socket>;
class FakeApiServer;

struct Router {
  FakeApiServer& server;
  TlsStream& stream;
  std::function<void()> cut;  // shuts the socket down (force-closing a watch)

  void run();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Query = std::map<std::string, std::string>;
  // False when the connection must end.
  bool handle(const Request& req);
  bool reply(const Request& req, const FakeReply& r);
  FakeReply discovery(const std::string& path, bool& handled);
  bool resource(const Request& req, const std::string& path, const Query& query);
  bool watch(const Request& req, size_t type, const ListQuery& filter, const Query& query);
  FakeReply authorize(const Request& req, const FakeType* type, const std::string& verb,
                      const std::string& ns, bool& ok);
};

}  // namespace kw::kube::fake
