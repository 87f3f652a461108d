// The controller's Prometheus metrics, named as controller-runtime names them so existing
// dashboards read them: reconciles per controller and result, reconcile latency, work-queue
// depth and adds, and the API requests the controller sent (by verb and status code) — the last
// one is how tests and benchmarks check that the controller stays quiet on the wire.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "controller/work_queue.h"
#include "kube/reflector.h"

namespace kw::controller {

class ControllerMetrics {
 public:
  static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,    2.5,   5,    10,  30};

  // result: "success", "error", "requeue", "requeue_after".
  void observeReconcile(const std::string& controller, const std::string& result, double seconds);
  // One API request: method ("GET", "POST"…) and HTTP status (0 when no answer came).
  void countRequest(const std::string& method, long status);
  void addQueue(std::string name, const WorkQueue* queue);
  // An informer's full lists and watch connections: a steady controller only re-watches.
  void addInformer(std::string resource, const kube::Reflector* reflector);

  uint64_t requests(const std::string& method) const;  // all codes
  uint64_t reconciles(const std::string& controller) const;
  // The text exposition format (0.0.4).
  std::string render() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBounds.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> reconciles_;
  std::map<std::string, Histogram> latency_;
  std::map<std::pair<std::string, long>, uint64_t> requests_;
  std::vector<std::pair<std::string, const WorkQueue*>> queues_;
  std::vector<std::pair<std::string, const kube::Reflector*>> informers_;
};

}  // namespace kw::controller
