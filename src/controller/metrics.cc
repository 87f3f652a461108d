#include "controller/metrics.h"

#include <fmt/format.h>

namespace kw::controller {

void ControllerMetrics::observeReconcile(const std::string& controller, const std::string& result,
                                         double seconds) {
  std::lock_guard lock(mu_);
  ++reconciles_[{controller, result}];
  Histogram& h = latency_[controller];
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void ControllerMetrics::countRequest(const std::string& method, long status) {
  std::lock_guard lock(mu_);
  ++requests_[{method, status}];
}

void ControllerMetrics::addInformer(std::string resource, const kube::Reflector* reflector) {
  std::lock_guard lock(mu_);
  informers_.emplace_back(std::move(resource), reflector);
}

void ControllerMetrics::addQueue(std::string name, const WorkQueue* queue) {
  std::lock_guard lock(mu_);
  queues_.emplace_back(std::move(name), queue);
}

uint64_t ControllerMetrics::requests(const std::string& method) const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [key, count] : requests_)
    if (key.first == method) n += count;
  return n;
}

uint64_t ControllerMetrics::reconciles(const std::string& controller) const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [key, count] : reconciles_)
    if (key.first == controller) n += count;
  return n;
}

std::string ControllerMetrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP controller_runtime_reconcile_total Total number of reconciliations per controller\n";
  out += "# TYPE controller_runtime_reconcile_total counter\n";
  for (const auto& [key, n] : reconciles_)
    out += fmt::format("controller_runtime_reconcile_total{{controller=\"{}\",result=\"{}\"}} {}\n",
                       key.first, key.second, n);
  out += "# HELP controller_runtime_reconcile_time_seconds Length of time per reconciliation\n";
  out += "# TYPE controller_runtime_reconcile_time_seconds histogram\n";
  for (const auto& [controller, h] : latency_) {
    for (size_t i = 0; i < kBounds.size(); ++i)
      out += fmt::format(
          "controller_runtime_reconcile_time_seconds_bucket{{controller=\"{}\",le=\"{}\"}} {}\n",
          controller, kBounds[i], h.buckets[i]);
    out += fmt::format(
        "controller_runtime_reconcile_time_seconds_bucket{{controller=\"{}\",le=\"+Inf\"}} {}\n",
        controller, h.count);
    out += fmt::format("controller_runtime_reconcile_time_seconds_sum{{controller=\"{}\"}} {}\n",
                       controller, h.sum);
    out += fmt::format("controller_runtime_reconcile_time_seconds_count{{controller=\"{}\"}} {}\n",
                       controller, h.count);
  }
  out += "# HELP workqueue_depth Current depth of workqueue\n# TYPE workqueue_depth gauge\n";
  for (const auto& [name, queue] : queues_)
    out += fmt::format("workqueue_depth{{name=\"{}\"}} {}\n", name, queue->stats().depth);
  out += "# HELP workqueue_adds_total Total number of adds handled by workqueue\n";
  out += "# TYPE workqueue_adds_total counter\n";
  for (const auto& [name, queue] : queues_)
    out += fmt::format("workqueue_adds_total{{name=\"{}\"}} {}\n", name, queue->stats().adds);
  out += "# HELP kubewarden_controller_informer_lists_total Full lists an informer made\n";
  out += "# TYPE kubewarden_controller_informer_lists_total counter\n";
  for (const auto& [resource, reflector] : informers_)
    out += fmt::format("kubewarden_controller_informer_lists_total{{resource=\"{}\"}} {}\n",
                       resource, reflector->stats().lists);
  out +=
      "# HELP kubewarden_controller_informer_watches_total Watch connections an informer "
      "opened\n# TYPE kubewarden_controller_informer_watches_total counter\n";
  for (const auto& [resource, reflector] : informers_)
    out += fmt::format("kubewarden_controller_informer_watches_total{{resource=\"{}\"}} {}\n",
                       resource, reflector->stats().watches);
  out += "# HELP rest_client_requests_total Number of HTTP requests, partitioned by status code "
         "and method\n# TYPE rest_client_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("rest_client_requests_total{{code=\"{}\",method=\"{}\"}} {}\n", key.second,
                       key.first, n);
  return out;
}

}  // namespace kw::controller
