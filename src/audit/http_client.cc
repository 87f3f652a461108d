#include "audit/http_client.h"

#include <curl/curl.h>

namespace kw::audit {
namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
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
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

PolicyServerClient::~PolicyServerClient() {
  for (void* easy : pool_) curl_easy_cleanup(static_cast<CURL*>(easy));
}

void* PolicyServerClient::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!pool_.empty()) {
      void* easy = pool_.back();
      pool_.pop_back();
      return easy;
    }
  }
  return curl_easy_init();
}

void PolicyServerClient::release(void* easy) {
  std::lock_guard lock(mu_);
  pool_.push_back(easy);
}

Result<PolicyServerClient::Reply> PolicyServerClient::post(const Target& target,
                                                           const std::string& path,
                                                           const std::string& body) {
  CURL* curl = static_cast<CURL*>(acquire());
  curl_easy_reset(curl);
  const std::string url = target.base_url + path;
  Reply reply;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_slist* connect_to = nullptr;
  if (!target.address.empty()) {
    // Connect to the Pod, but speak to (and verify) the Service's name.
    std::string from = urlHostPort(target.base_url);
    connect_to = curl_slist_append(nullptr, (from + ":" + target.address).c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (options_.insecure) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!options_.extra_ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.extra_ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");  // the system roots as well
  }
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  // The handle keeps its connection; the lists must outlive the transfer only.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_CONNECT_TO, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);
  release(curl);
  if (rc != CURLE_OK) {
    std::string why = error[0] ? error : curl_easy_strerror(rc);
    return makeError("POST " + url + (target.address.empty() ? "" : " via " + target.address) +
                     ": " + why);
  }
  return reply;
}

}  // namespace kw::audit
