#include "controller/admission_server.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/percent_encode.h"
#include "http/http_server.h"
#include "kube/client.h"

namespace kw::controller {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using nlohmann::json;

HttpResponse textResponse(int status, std::string message) {
  return {status, "text/plain; charset=utf-8", std::move(message) + "\n"};
}

// Routes the six webhook paths to crd_admission; anything else is 404 (405 for non-POST).
class Router : public http::Handler {
 public:
  explicit Router(CrdAdmissionContext context) : context_(std::move(context)) {}

  void handle(HttpRequest request, std::function<void(HttpResponse)> done) override {
    done(answer(request));
  }

 private:
  HttpResponse answer(const HttpRequest& request) const {
    const auto webhook = crdWebhookForPath(request.target);
    if (!webhook) return textResponse(404, "no webhook at " + request.target);
    if (request.method != "POST") return textResponse(405, "webhooks take POST");
    json review = json::parse(request.body, nullptr, false);
    if (review.is_discarded())
      return textResponse(400, "the request body is not a JSON AdmissionReview");
    json reply = admitReview(*webhook, review, context_);
    spdlog::debug("{}: allowed={}", webhook->name, reply["response"].value("allowed", false));
    return {200, "application/json", reply.dump()};
  }

  CrdAdmissionContext context_;
};

}  // namespace

class AdmissionServer::Impl {
 public:
  Impl(AdmissionServerOptions options, CrdAdmissionContext context)
      : options_(std::move(options)), router_(std::move(context)) {}

  Status start() {
    if (options_.cert_file.empty() || options_.key_file.empty())
      return makeError("the webhook server needs a certificate and a key (PEM files)");
    http::ServerOptions http;
    http.address = options_.address;
    http.port = options_.port;
    http.cert_file = options_.cert_file;
    http.key_file = options_.key_file;
    http.threads = std::max(1u, options_.threads);
    http.serve_metrics = false;
    server_ = std::make_unique<http::HttpServer>(http, router_, nullptr);
    Status started = server_->start();
    if (!started.ok()) {
      server_.reset();
      return makeError("webhook server: " + started.error().message);
    }
    spdlog::info("serving CRD webhooks on https://{}:{}", options_.address, server_->port());
    return okStatus();
  }

  uint16_t port() const { return server_ ? server_->port() : 0; }

  void stop() {
    if (!server_) return;
    server_->shutdown();
    server_->wait();
    server_.reset();
  }

 private:
  AdmissionServerOptions options_;
  Router router_;
  std::unique_ptr<http::HttpServer> server_;
};

AdmissionServerOptions admissionServerOptionsFromCertDir(const std::string& cert_dir,
                                                         uint16_t port) {
  AdmissionServerOptions options;
  options.port = port;
  options.cert_file = cert_dir + "/tls.crt";
  options.key_file = cert_dir + "/tls.key";
  return options;
}

AdmissionServer::AdmissionServer(AdmissionServerOptions options, CrdAdmissionContext context)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(context))) {}
AdmissionServer::~AdmissionServer() {
  impl_->stop();
}
Status AdmissionServer::start() {
  return impl_->start();
}
uint16_t AdmissionServer::port() const {
  return impl_->port();
}
void AdmissionServer::stop() {
  impl_->stop();
}

SecretTypeLookup kubeSecretTypeLookup(std::shared_ptr<kube::Client> client) {
  return [client](const std::string& ns,
                  const std::string& name) -> Result<std::optional<std::string>> {
    auto reply = client->request(
        "GET", "/api/v1/namespaces/" + percentEncode(ns) + "/secrets/" + percentEncode(name));
    if (!reply.ok()) return reply.error();
    if (reply->status == 404) return std::optional<std::string>();
    if (reply->status != 200) return kube::apiError(reply->status, reply->body, "get Secret");
    json secret = json::parse(reply->body, nullptr, false);
    if (secret.is_discarded()) return makeError("the API server sent a Secret that is not JSON");
    return std::optional<std::string>(secret.value("type", std::string("Opaque")));
  };
}

}  // namespace kw::controller
