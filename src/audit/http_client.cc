#include "audit/http_client.h"

#include <fmt/format.h>

#include "common/file_read.h"
#include "net/ca_certificates.h"

namespace kw::audit {
namespace {

// An answer carries at most one patched object (etcd keeps them under ~1.5 MiB), base64-encoded.
constexpr uint64_t kMaxReplyBytes = 16u << 20;

Status loadCas(const std::string& file, net::TlsOptions& tls) {
  auto text = readFileBounded(file);
  if (!text)
    return makeError(fmt::format("cannot load the CA file {}: {}", file, text.error().message));
  auto cas = std::make_shared<net::CaCertificates>();
  if (Status st = cas->add(*text); !st)
    return makeError(fmt::format("cannot load the CA file {}: {}", file, st.error().message));
  tls.extra_cas = std::move(cas);
  return okStatus();
}

}  // namespace

std::string urlHostPort(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  std::string scheme = url.substr(0, scheme_end);
  std::string rest = url.substr(scheme_end + 3);
  std::string host = rest.substr(0, rest.find('/'));
  if (host.empty()) return "";
  bool has_port = host.rfind(':') != std::string::npos && host.back() != ']';
  if (!has_port) host += scheme == "http" ? ":80" : ":443";
  return host;
}

PolicyServerClient::PolicyServerClient(HttpOptions options) : options_(std::move(options)) {
  tls_.insecure = options_.insecure;
  if (!options_.insecure && !options_.extra_ca_file.empty())
    tls_status_ = loadCas(options_.extra_ca_file, tls_);
}

PolicyServerClient::~PolicyServerClient() = default;

Result<PolicyServerClient::Reply> PolicyServerClient::post(const Target& target,
                                                           const std::string& path,
                                                           const std::string& body) {
  net::Request req;
  req.method = "POST";
  req.url = target.base_url + path;
  req.headers.push_back("Content-Type: application/json");
  req.body = body;
  req.tls = tls_;
  // Connect to the Pod, but speak to (and verify) the Service's name.
  if (!target.address.empty()) req.connect_to = urlHostPort(target.base_url) + ":" + target.address;
  req.timeout_ms = options_.timeout_ms;
  req.connect_timeout_ms = options_.connect_timeout_ms;
  req.max_body = kMaxReplyBytes;
  auto fail = [&](const std::string& why) {
    return makeError("POST " + req.url + (target.address.empty() ? "" : " via " + target.address) +
                     ": " + why);
  };
  if (!tls_status_) return fail(tls_status_.error().message);
  net::Response response = http_.perform(req);
  if (!response.ok()) return fail(response.error);
  return Reply{response.status, std::move(response.body)};
}

}  // namespace kw::audit
