// Prometheus metrics for the policy-server: Kubewarden's instrument names and labels
// (kubewarden_policy_evaluations_total, kubewarden_policy_evaluation_latency_milliseconds),
// plus process metrics. Thread-safe; recording is cheap enough for the request path.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace kw::server {

// Labels in the order they are printed.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  // One evaluation: +1 on the counter and one latency observation, both with these labels.
  void recordEvaluation(const Labels& labels, double latency_ms);
  // The Prometheus text exposition format (version 0.0.4), process metrics included.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative counts per bound, same order as kBounds
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<Labels, uint64_t> evaluations_;
  std::map<Labels, Histogram> latency_;
};

}  // namespace kw::server
