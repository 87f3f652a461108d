#include "kube/client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/percent_encode.h"
#include "kube/exec_credential.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;
constexpr auto kTokenRefresh = std::chrono::seconds(60);
constexpr long kConnectTimeoutMs = 10000;
constexpr long kRequestTimeoutMs = 60000;
constexpr int kPollMs = 1000;

void addParam(std::string& query, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  query += query.empty() ? '?' : '&';
  query += std::string(key) + "=" + percentEncode(value);
}

// Caps on what the API server may send us, so a broken or hostile endpoint cannot grow the
// process without bound. Objects are limited to ~1.5 MiB in etcd; a list page of them, or one
// watch event, stays far below these.
constexpr size_t kMaxReplyBytes = 256u << 20;
constexpr size_t kMaxWatchLineBytes = 16u << 20;
constexpr size_t kMaxErrorBodyBytes = 1u << 20;

struct Collected {
  std::string body;
  bool too_large = false;
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collected*>(user);
  if (c->body.size() + size * n > kMaxReplyBytes) {
    c->too_large = true;
    return 0;  // aborts the transfer
  }
  c->body.append(data, size * n);
  return size * n;
}

std::string reasonFor(long status) {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 409:
      return "conflict";
    case 410:
      return "expired";
    case 422:
      return "invalid";
    case 429:
      return "too many requests";
    default:
      return status >= 500 ? "server error" : "request failed";
  }
}

// State of one streaming watch transfer, shared with the libcurl write callback.
struct WatchStream {
  CURL* easy = nullptr;
  const Client::EventSink* sink = nullptr;
  std::string pending;  // the incomplete last line
  std::string error_body;
  long status = 0;
  bool stopped = false;
  bool too_large = false;
};

size_t onWatchData(char* data, size_t size, size_t n, void* user) {
  auto* w = static_cast<WatchStream*>(user);
  size_t len = size * n;
  if (w->status == 0) curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
  if (w->status != 200) {
    // Only the start of an error body is kept: it is read for its message.
    w->error_body.append(data, std::min(len, kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes,
                                                                           w->error_body.size())));
    return len;
  }
  w->pending.append(data, len);
  size_t start = 0;
  for (size_t nl; (nl = w->pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(w->pending.data() + start, nl - start);
    if (line.empty()) continue;
    if (!(*w->sink)(line)) {
      w->stopped = true;
      return 0;  // aborts the transfer
    }
  }
  w->pending.erase(0, start);
  if (w->pending.size() > kMaxWatchLineBytes) {
    w->too_large = true;
    return 0;  // one event larger than any object could be: abort
  }
  return len;
}

}  // namespace

void WatchCancel::cancel() {
  cancelled_.store(true);
  std::lock_guard lock(mu_);
  if (multi_) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void WatchCancel::attach(void* multi) {
  std::lock_guard lock(mu_);
  multi_ = multi;
}

void WatchCancel::detach() {
  std::lock_guard lock(mu_);
  multi_ = nullptr;
}

std::string resourcePath(const ResourceType& type, std::string_view ns, std::string_view name) {
  const std::string& av = type.key.api_version;
  std::string path = av.find('/') == std::string::npos ? "/api/" + av : "/apis/" + av;
  if (type.namespaced && !ns.empty()) path += "/namespaces/" + std::string(ns);
  path += "/" + type.plural;
  if (!name.empty()) path += "/" + std::string(name);
  return path;
}

Error apiError(long status, std::string_view body, std::string_view what) {
  std::string message;
  try {
    json j = json::parse(body);
    if (j.is_object() && j.value("kind", "") == "Status") message = j.value("message", "");
  } catch (const json::exception&) {
  }
  if (message.empty()) message = std::string(body.substr(0, 200));
  return makeError(
      fmt::format("Kubernetes API {} ({}) {}: {}", reasonFor(status), status, what, message));
}

Result<std::shared_ptr<Client>> Client::create(Config config) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0)
    return makeError("Kubernetes server URL must start with https:// or http://: " + config.server);
  return std::shared_ptr<Client>(new Client(std::move(config)));
}

Client::Client(Config config) : config_(std::move(config)) {
  token_ = config_.token;
  token_read_at_ = std::chrono::steady_clock::now();
  if (config_.exec) exec_ = std::make_unique<ExecCredentialSource>(*config_.exec);
}

Client::~Client() {
  for (void* easy : pool_) curl_easy_cleanup(static_cast<CURL*>(easy));
}

void* Client::acquire() {
  std::lock_guard lock(pool_mu_);
  if (pool_.empty()) return curl_easy_init();
  void* easy = pool_.back();
  pool_.pop_back();
  curl_easy_reset(static_cast<CURL*>(easy));  // keeps the live connection for reuse
  return easy;
}

void Client::release(void* easy) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(easy);
}

std::string Client::bearerToken() {
  std::lock_guard lock(token_mu_);
  auto now = std::chrono::steady_clock::now();
  if (!config_.token_file.empty() && now - token_read_at_ > kTokenRefresh) {
    std::ifstream in(config_.token_file);
    std::ostringstream text;
    text << in.rdbuf();
    std::string fresh = text.str();
    while (!fresh.empty() && (fresh.back() == '\n' || fresh.back() == ' ')) fresh.pop_back();
    if (!fresh.empty()) token_ = fresh;  // keep the old token if the file is mid-rotation
    token_read_at_ = now;
  }
  return token_;
}

Result<std::shared_ptr<const ExecCredential>> Client::execCredential() {
  if (!exec_) return std::shared_ptr<const ExecCredential>();
  auto credential = exec_->get();
  if (!credential)
    return makeError("cannot get credentials for the Kubernetes API (" + config_.origin +
                     "): " + credential.error().message);
  return credential;
}

Status Client::prepare(void* handle, const std::string& url, void* headers_out,
                       std::string_view accept, const ExecCredential* exec) {
  CURL* easy = static_cast<CURL*>(handle);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!config_.ca_pem.empty()) {
    curl_blob blob{config_.ca_pem.data(), config_.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
  }
  // A plugin's certificate is set on each request like the static one; libcurl reuses only a
  // connection made with the same certificate, so a fresh one opens a new TLS session.
  const bool exec_cert = exec && !exec->client_cert_pem.empty();
  const std::string& cert_pem = exec_cert ? exec->client_cert_pem : config_.client_cert_pem;
  const std::string& key_pem = exec_cert ? exec->client_key_pem : config_.client_key_pem;
  if (!cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(cert_pem.data()), cert_pem.size(), CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(key_pem.data()), key_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(easy, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, config_.password.c_str());
  }
  curl_slist* headers = curl_slist_append(nullptr, ("Accept: " + std::string(accept)).c_str());
  std::string token = exec && !exec->token.empty() ? exec->token : bearerToken();
  if (!token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  *static_cast<curl_slist**>(headers_out) = headers;
  return okStatus();
}

Result<Client::Reply> Client::request(std::string_view method, const std::string& path_and_query,
                                      std::string_view body, std::string_view content_type,
                                      std::string_view accept) {
  for (int attempt = 0;; ++attempt) {
    auto credential = execCredential();
    if (!credential) return credential.error();
    auto reply = requestOnce(method, path_and_query, body, content_type, accept, credential->get());
    // A plugin's credential the server refuses was revoked or expired early: get a fresh one
    // and retry once, as kubectl does.
    if (!reply || reply->status != 401 || !exec_ || attempt > 0) return reply;
    exec_->invalidate(*credential);
  }
}

Result<Client::Reply> Client::requestOnce(std::string_view method,
                                          const std::string& path_and_query, std::string_view body,
                                          std::string_view content_type, std::string_view accept,
                                          const ExecCredential* exec) {
  CURL* easy = static_cast<CURL*>(acquire());
  if (!easy) return makeError("cannot create a libcurl handle");
  curl_slist* headers = nullptr;
  std::string url = config_.server + path_and_query;
  (void)prepare(easy, url, &headers, accept.empty() ? "application/json" : accept, exec);
  if (!content_type.empty())
    headers = curl_slist_append(headers, ("Content-Type: " + std::string(content_type)).c_str());
  std::string method_s(method), body_s(body);
  if (method_s != "GET") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method_s.c_str());
  if (!body_s.empty() || method_s == "POST" || method_s == "PUT" || method_s == "PATCH") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body_s.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_s.size()));
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  Reply reply;
  Collected collected;
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &collected);
  CURLcode rc = curl_easy_perform(easy);
  reply.body = std::move(collected.body);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  release(easy);
  if (collected.too_large) {
    return makeError(
        fmt::format("refused the reply of the Kubernetes API to {}: larger than {} bytes", url,
                    kMaxReplyBytes));
  }
  if (rc != CURLE_OK)
    return makeError(
        fmt::format("cannot reach the Kubernetes API at {}: {}", url, curl_easy_strerror(rc)));
  return reply;
}

Result<std::vector<ResourceType>> Client::discover(const std::string& group_version) {
  {
    std::lock_guard lock(discovery_mu_);
    if (auto it = discovery_.find(group_version); it != discovery_.end()) return it->second;
  }
  std::string path = group_version.find('/') == std::string::npos ? "/api/" + group_version
                                                                  : "/apis/" + group_version;
  auto reply = request("GET", path);
  if (!reply) return reply.error();
  if (reply->status != 200) return apiError(reply->status, reply->body, "discovering " + path);
  std::vector<ResourceType> types;
  try {
    json doc = json::parse(reply->body);  // named: a temporary would die before the loop runs
    for (const json& r : doc.at("resources")) {
      std::string name = r.at("name");
      if (name.find('/') != std::string::npos) continue;  // a subresource such as pods/log
      types.push_back(
          {{group_version, r.at("kind").get<std::string>()}, name, r.value("namespaced", false)});
    }
  } catch (const json::exception& e) {
    return makeError("malformed discovery document at " + path + ": " + e.what());
  }
  std::lock_guard lock(discovery_mu_);
  discovery_[group_version] = types;
  return types;
}

Result<ResourceType> Client::resolve(const ResourceKey& key) {
  auto types = discover(key.api_version);
  if (!types) return types.error();
  for (const ResourceType& t : *types)
    if (t.key.kind == key.kind) return t;
  return makeError("Kubernetes API serves no kind " + key.kind + " in " + key.api_version);
}

Result<std::vector<std::string>> Client::groupVersions() {
  std::vector<std::string> out;
  auto core = request("GET", "/api");
  if (!core) return core.error();
  if (core->status != 200) return apiError(core->status, core->body, "discovering /api");
  auto groups = request("GET", "/apis");
  if (!groups) return groups.error();
  if (groups->status != 200) return apiError(groups->status, groups->body, "discovering /apis");
  try {
    json core_doc = json::parse(core->body);
    json groups_doc = json::parse(groups->body);
    for (const json& v : core_doc.at("versions")) out.push_back(v);
    for (const json& g : groups_doc.at("groups"))
      for (const json& v : g.at("versions")) out.push_back(v.at("groupVersion"));
  } catch (const json::exception& e) {
    return makeError(std::string("malformed discovery document: ") + e.what());
  }
  return out;
}

Result<std::string> Client::get(const ResourceType& type, std::string_view ns,
                                std::string_view name) {
  std::string path = resourcePath(type, ns, name);
  auto reply = request("GET", path);
  if (!reply) return reply.error();
  if (reply->status != 200) return apiError(reply->status, reply->body, "getting " + path);
  return std::move(reply->body);
}

Status Client::listPages(const ResourceType& type, const ListOptions& options,
                         const PageSink& sink) {
  std::string path = resourcePath(type, options.ns);
  std::string cont;
  do {
    std::string query;
    addParam(query, "labelSelector", options.selectors.label_selector);
    addParam(query, "fieldSelector", options.selectors.field_selector);
    if (options.limit > 0) addParam(query, "limit", std::to_string(options.limit));
    addParam(query, "continue", cont);
    if (cont.empty()) addParam(query, "resourceVersion", options.resource_version);
    auto reply = request("GET", path + query);
    if (!reply) return reply.error();
    if (reply->status != 200) return apiError(reply->status, reply->body, "listing " + path);
    json page;
    try {
      page = json::parse(reply->body);
      cont = page.at("metadata").value("continue", "");
    } catch (const json::exception& e) {
      return makeError("malformed list from " + path + ": " + e.what());
    }
    reply->body = std::string();  // the DOM has it; free the text before the next page
    if (auto s = sink(page); !s) return s;
  } while (!cont.empty());
  return okStatus();
}

Result<std::string> Client::list(const ResourceType& type, const ListOptions& options) {
  json items = json::array();
  std::string rv;
  auto s = listPages(type, options, [&](json& page) {
    rv = page["metadata"].value("resourceVersion", "");
    for (json& item : page["items"]) items.push_back(std::move(item));
    return okStatus();
  });
  if (!s) return s.error();
  json out = {{"apiVersion", type.key.api_version},
              {"kind", type.key.kind + "List"},
              {"metadata", {{"resourceVersion", rv}}},
              {"items", std::move(items)}};
  return out.dump();
}

Result<Client::WatchEnd> Client::watch(const ResourceType& type, const WatchOptions& options,
                                       const EventSink& sink, WatchCancel& cancel) {
  for (int attempt = 0;; ++attempt) {
    auto credential = execCredential();
    if (!credential) return credential.error();
    long status = 0;
    auto end = watchOnce(type, options, sink, cancel, credential->get(), status);
    // A 401 delivered no event, so the watch can start again with a fresh credential.
    if (status != 401 || !exec_ || attempt > 0) return end;
    exec_->invalidate(*credential);
  }
}

Result<Client::WatchEnd> Client::watchOnce(const ResourceType& type, const WatchOptions& options,
                                           const EventSink& sink, WatchCancel& cancel,
                                           const ExecCredential* exec, long& status) {
  std::string query = "?watch=true";
  if (options.bookmarks) query += "&allowWatchBookmarks=true";
  addParam(query, "resourceVersion", options.resource_version);
  addParam(query, "labelSelector", options.selectors.label_selector);
  addParam(query, "fieldSelector", options.selectors.field_selector);
  if (options.timeout_seconds > 0)
    addParam(query, "timeoutSeconds", std::to_string(options.timeout_seconds));
  std::string path = resourcePath(type, options.ns);
  CURL* easy = static_cast<CURL*>(acquire());
  CURLM* multi = curl_multi_init();
  curl_slist* headers = nullptr;
  (void)prepare(easy, config_.server + path + query, &headers, "application/json", exec);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  WatchStream stream{easy, &sink, {}, {}, 0, false};
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, onWatchData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &stream);
  curl_multi_add_handle(multi, easy);
  cancel.attach(multi);
  int running = 1;
  CURLcode result = CURLE_OK;
  while (running && !cancel.cancelled()) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) break;
    if (running) curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
  }
  cancel.detach();
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left))
    if (msg->msg == CURLMSG_DONE) result = msg->data.result;
  if (stream.status == 0) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &stream.status);
  status = stream.status;
  curl_multi_remove_handle(multi, easy);
  curl_multi_cleanup(multi);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  // A cancelled or aborted transfer may leave its connection mid-stream: never reuse it.
  if (cancel.cancelled() || stream.stopped || stream.too_large || running) {
    curl_easy_cleanup(easy);
  } else {
    release(easy);
  }
  if (cancel.cancelled() || stream.stopped) return WatchEnd::kCancelled;
  if (stream.too_large) {
    return makeError(fmt::format("refused a watch event from {}: larger than {} bytes", path,
                                 kMaxWatchLineBytes));
  }
  if (stream.status == 410) return WatchEnd::kExpired;
  if (stream.status != 0 && stream.status != 200)
    return apiError(stream.status, stream.error_body, "watching " + path);
  if (result != CURLE_OK && stream.status == 0)
    return makeError(fmt::format("cannot reach the Kubernetes API at {}: {}", config_.server,
                                 curl_easy_strerror(result)));
  return WatchEnd::kClosed;  // includes streams the server cut: the caller resumes
}

}  // namespace kw::kube
