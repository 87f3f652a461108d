// A thread-safe Kubernetes REST client on net::HttpClient: discovery, get, paginated list, and
// watch streams delivered line by line (never buffered whole). Connections are pooled and reused.
// Credentials: static ones from the Config, a token file re-read for rotation, or an exec
// plugin's, run again when they expire or when the API server answers 401 (then the request is
// retried once, as kubectl does).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "kube/config.h"
#include "kube/resource_reader.h"
#include "net/http_client.h"

namespace kw::kube {

class ExecCredentialSource;
struct ExecCredential;

// Lets another thread stop a running watch promptly (it wakes the transfer's poll loop).
using WatchCancel = net::Cancel;

class Client {
 public:
  struct ListOptions {
    std::string ns;  // empty: every namespace (or a cluster-scoped type)
    Selectors selectors;
    int64_t limit = 0;  // page size; 0: one page
    std::string resource_version;
  };
  struct WatchOptions {
    std::string ns;
    std::string resource_version;
    int timeout_seconds = 0;  // 0: the server's default
    bool bookmarks = true;
    Selectors selectors;
  };
  enum class WatchEnd { kClosed, kCancelled, kExpired };
  // One raw event line (`{"type":…,"object":…}`); return false to stop the watch.
  using EventSink = std::function<bool(std::string_view line)>;
  // One parsed page of a list; its "items" may be moved out.
  using PageSink = std::function<Status(nlohmann::json& page)>;

  static Result<std::shared_ptr<Client>> create(Config config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // apiVersion+kind → plural and scope, from /api/v1 or /apis/<group>/<version> (cached).
  Result<ResourceType> resolve(const ResourceKey& key);
  // Every served group version, from /api and /apis.
  Result<std::vector<std::string>> groupVersions();

  Result<std::string> get(const ResourceType& type, std::string_view ns, std::string_view name);
  // Follows `continue` tokens until the last page.
  Status listPages(const ResourceType& type, const ListOptions& options, const PageSink& sink);
  // A whole List object (all pages merged) as JSON text.
  Result<std::string> list(const ResourceType& type, const ListOptions& options);
  Result<WatchEnd> watch(const ResourceType& type, const WatchOptions& options,
                         const EventSink& sink, WatchCancel& cancel);

  // Plain request for callers needing other verbs; returns status and body (no Status mapping).
  struct Reply {
    long status = 0;
    std::string body;
  };
  // `accept` replaces "application/json", e.g. with the PartialObjectMetadataList form for a
  // list whose items' metadata is all the caller reads.
  Result<Reply> request(std::string_view method, const std::string& path_and_query,
                        std::string_view body = {}, std::string_view content_type = {},
                        std::string_view accept = {});
  const Config& config() const { return config_; }

 private:
  explicit Client(Config config);
  // A request to `url` with the kubeconfig's TLS settings and credentials; `exec`: the plugin's
  // credential for this request, null without a plugin.
  net::Request baseRequest(const std::string& url, std::string_view accept,
                           const ExecCredential* exec);
  std::string bearerToken();
  Result<std::shared_ptr<const ExecCredential>> execCredential();
  Result<Reply> requestOnce(std::string_view method, const std::string& path_and_query,
                            std::string_view body, std::string_view content_type,
                            std::string_view accept, const ExecCredential* exec);
  Result<WatchEnd> watchOnce(const ResourceType& type, const WatchOptions& options,
                             const EventSink& sink, WatchCancel& cancel, const ExecCredential* exec,
                             long& status);
  Result<std::vector<ResourceType>> discover(const std::string& group_version);

  Config config_;
  net::HttpClient http_;
  net::TlsOptions tls_;  // from the kubeconfig; an exec plugin's certificate replaces its own
  std::mutex token_mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_at_;
  // Runs the kubeconfig's exec plugin when the cached credential is missing or expired.
  std::unique_ptr<ExecCredentialSource> exec_;
  std::mutex discovery_mu_;
  std::map<std::string, std::vector<ResourceType>> discovery_;
};

// "/api/v1/namespaces/<ns>/<plural>[/<name>]" for a type.
std::string resourcePath(const ResourceType& type, std::string_view ns, std::string_view name = {});
// Turns a non-2xx reply into a one-line error naming the operation and the API's reason.
Error apiError(long status, std::string_view body, std::string_view what);

}  // namespace kw::kube
