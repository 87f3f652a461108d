// The Bearer token flow against a small fake registry (docker-registry 2.8 has no token server
// of its own): 401 with a challenge, a token from the realm, the retry, and the shared cache.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <mutex>
#include <thread>

#include "oci/registry_client.h"

namespace kw::oci {
namespace {
namespace asio = boost::asio;
namespace http = boost::beast::http;

const std::string kDigest = "sha256:" + std::string(64, 'a');

class FakeTokenRegistry {
 public:
  FakeTokenRegistry() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeTokenRegistry() {
    stop_ = true;
    asio::ip::tcp::socket poke(io_);
    boost::system::error_code ec;
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string host() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int tokenRequests() const { return token_requests_; }
  std::string tokenQuery() {
    std::lock_guard lock(mu_);
    return token_query_;
  }
  std::string tokenAuthorization() {
    std::lock_guard lock(mu_);
    return token_authorization_;
  }

 private:
  void serve() {
    while (!stop_) {
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) continue;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;  // e.g. a TLS ClientHello: this server speaks plain HTTP only
      http::response<http::string_body> res = answer(req);
      res.keep_alive(false);
      res.prepare_payload();
      http::write(socket, res, ec);
    }
  }

  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    std::string target(req.target());
    if (target.rfind("/token", 0) == 0) {
      ++token_requests_;
      std::lock_guard lock(mu_);
      token_query_ = target;
      token_authorization_ = std::string(req[http::field::authorization]);
      res.body() = R"({"token":"tok-123"})";
      return res;
    }
    if (req[http::field::authorization] != "Bearer tok-123") {
      res.result(http::status::unauthorized);
      res.set(http::field::www_authenticate,
              "Bearer realm=\"http://" + host() +
                  "/token\",service=\"fake registry\",scope=\"repository:team/policy:pull\"");
      res.body() = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
      return res;
    }
    res.set("Docker-Content-Digest", kDigest);
    return res;
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> token_requests_{0};
  std::mutex mu_;
  std::string token_query_, token_authorization_;
};

TEST(OciBearerAuth, TokenFromRealmIsFetchedOnceAndReused) {
  FakeTokenRegistry fake;
  ClientOptions options;
  options.sources.insecure_sources.insert(fake.host());
  options.docker_config_dir = "/nonexistent-kw-docker-config";
  {
    RegistryClient client(options);
    auto ref = parseReference(fake.host() + "/team/policy:v1");
    ASSERT_TRUE(ref.ok());
    auto digest = client.manifestDigest(*ref);
    ASSERT_TRUE(digest.ok()) << digest.error().message;
    EXPECT_EQ(*digest, kDigest);
    auto again = client.manifestDigest(*ref);
    ASSERT_TRUE(again.ok()) << again.error().message;
  }
  EXPECT_EQ(fake.tokenRequests(), 1);
  EXPECT_NE(fake.tokenQuery().find("scope=repository%3Ateam%2Fpolicy%3Apull"), std::string::npos)
      << fake.tokenQuery();
  EXPECT_NE(fake.tokenQuery().find("service=fake%20registry"), std::string::npos)
      << fake.tokenQuery();
  EXPECT_EQ(fake.tokenAuthorization(), "");  // anonymous: no credentials configured
}

}  // namespace
}  // namespace kw::oci
