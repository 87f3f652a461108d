// The admission API (spec §1.7): POST /validate/{id}, /validate_raw/{id}, /audit/{id} and
// GET /readiness. Parsing, evaluation and post-processing (monitor mode, mutation refusal,
// always-accept namespace) run on the worker pool, never on the transport's thread; metrics
// record the policy's vanilla verdict (§1.10) and the latency from arrival (queueing included).
// Under overload (issue #15) a request is answered 503 without evaluation when the queue (or
// its policy's share of it) is full, or when its deadline passes while it waits.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "http/http_types.h"
#include "http/metrics.h"
#include "server/config.h"
#include "server/environment.h"
#include "server/worker_pool.h"

namespace kw::server {

struct ApiOptions {
  // Requests for this namespace are always allowed (status dropped, any patch kept).
  std::optional<std::string> always_accept_namespace;
  std::string host = "unknown";  // the `host` field of request logs ($HOSTNAME upstream)
  // A request's deadline runs from its arrival, so time spent queued counts; nullopt: none.
  std::optional<std::chrono::nanoseconds> policy_timeout;

  static ApiOptions fromConfig(const ServerConfig& config);  // host from $HOSTNAME
};

class Api : public http::Handler {
 public:
  // `metrics` may be null (metrics disabled). Everything must outlive the Api, and the pool
  // must be drained (shutdown) before the environment is destroyed.
  Api(const EvaluationEnvironment& env, WorkerPool& pool, http::Metrics* metrics,
      ApiOptions options);

  void handle(http::HttpRequest request, std::function<void(http::HttpResponse)> done) override;

  enum class Endpoint { Validate, ValidateRaw, Audit };

 private:
  struct Timing {
    std::chrono::steady_clock::time_point arrival, deadline;
  };
  void evaluate(Endpoint endpoint, const std::string& policy_id, const http::HttpRequest& request,
                Timing timing, const std::function<void(http::HttpResponse)>& done) const;
  // The 503 for a request the pool would not take, or that expired while queued.
  http::HttpResponse overloaded(Endpoint endpoint, const std::string& policy_id,
                                const EnvironmentPolicy* policy, std::string_view reason,
                                std::string message) const;

  const EvaluationEnvironment& env_;
  WorkerPool& pool_;
  http::Metrics* metrics_;
  ApiOptions options_;
};

}  // namespace kw::server
