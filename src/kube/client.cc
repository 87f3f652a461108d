#include "kube/client.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/base64.h"
#include "common/percent_encode.h"
#include "kube/exec_credential.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;
constexpr auto kTokenRefresh = std::chrono::seconds(60);
constexpr long kConnectTimeoutMs = 10000;
constexpr long kRequestTimeoutMs = 60000;

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

// Splits a watch stream into event lines for the caller's sink.
struct WatchLines {
  const Client::EventSink* sink = nullptr;
  std::string pending;  // the incomplete last line
  bool stopped = false;
  bool too_large = false;

  bool feed(const char* data, size_t len) {
    pending.append(data, len);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      if (line.empty()) continue;
      if (!(*sink)(line)) {
        stopped = true;
        return false;  // aborts the transfer
      }
    }
    pending.erase(0, start);
    if (pending.size() > kMaxWatchLineBytes) {
      too_large = true;
      return false;  // one event larger than any object could be: abort
    }
    return true;
  }
};

}  // namespace

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
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0)
    return makeError("Kubernetes server URL must start with https:// or http://: " + config.server);
  return std::shared_ptr<Client>(new Client(std::move(config)));
}

Client::Client(Config config) : config_(std::move(config)) {
  token_ = config_.token;
  token_read_at_ = std::chrono::steady_clock::now();
  if (config_.exec) exec_ = std::make_unique<ExecCredentialSource>(*config_.exec);
  tls_.insecure = config_.insecure_skip_tls_verify;
  tls_.ca_pem = config_.ca_pem;
  tls_.client_cert_pem = config_.client_cert_pem;
  tls_.client_key_pem = config_.client_key_pem;
}

Client::~Client() = default;

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

net::Request Client::baseRequest(const std::string& url, std::string_view accept,
                                 const ExecCredential* exec) {
  net::Request req;
  req.url = url;
  req.connect_timeout_ms = kConnectTimeoutMs;
  req.decompress = true;
  req.tls = tls_;
  // A plugin's certificate is sent like the static one; libcurl reuses only a connection made
  // with the same certificate, so a fresh one opens a new TLS session.
  if (exec && !exec->client_cert_pem.empty()) {
    req.tls.client_cert_pem = exec->client_cert_pem;
    req.tls.client_key_pem = exec->client_key_pem;
  }
  req.headers.push_back("Accept: " + std::string(accept));
  std::string token = exec && !exec->token.empty() ? exec->token : bearerToken();
  if (!token.empty()) {
    req.headers.push_back("Authorization: Bearer " + token);
  } else if (!config_.username.empty()) {
    req.headers.push_back("Authorization: Basic " +
                          base64Encode(config_.username + ":" + config_.password));
  }
  return req;
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
  std::string url = config_.server + path_and_query;
  net::Request req = baseRequest(url, accept.empty() ? "application/json" : accept, exec);
  req.method = std::string(method);
  req.body = std::string(body);
  if (!content_type.empty()) req.headers.push_back("Content-Type: " + std::string(content_type));
  req.timeout_ms = kRequestTimeoutMs;
  req.max_body = kMaxReplyBytes;
  net::Response response = http_.perform(req);
  if (response.failure == net::Failure::kTooLarge) {
    return makeError(
        fmt::format("refused the reply of the Kubernetes API to {}: larger than {} bytes", url,
                    kMaxReplyBytes));
  }
  if (!response.ok())
    return makeError(fmt::format("cannot reach the Kubernetes API at {}: {}", url, response.error));
  return Reply{response.status, std::move(response.body)};
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
  net::Request req = baseRequest(config_.server + path + query, "application/json", exec);
  req.max_body = kMaxErrorBodyBytes;  // only an error's body is collected: events go to the sink
  req.cancel = &cancel;
  WatchLines lines;
  lines.sink = &sink;
  req.sink = [&lines](const char* data, size_t len) { return lines.feed(data, len); };
  net::Response response = http_.perform(req);
  status = response.status;
  if (response.failure == net::Failure::kCancelled || lines.stopped) return WatchEnd::kCancelled;
  if (lines.too_large) {
    return makeError(fmt::format("refused a watch event from {}: larger than {} bytes", path,
                                 kMaxWatchLineBytes));
  }
  if (status == 410) return WatchEnd::kExpired;
  if (status != 0 && status != 200) return apiError(status, response.body, "watching " + path);
  if (!response.ok() && status == 0)
    return makeError(
        fmt::format("cannot reach the Kubernetes API at {}: {}", config_.server, response.error));
  return WatchEnd::kClosed;  // includes streams the server cut: the caller resumes
}

}  // namespace kw::kube
