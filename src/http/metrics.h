// Prometheus metrics for the policy-server: Kubewarden's instrument names and labels
// (kubewarden_policy_evaluations_total, kubewarden_policy_evaluation_latency_milliseconds),
// plus process metrics. Thread-safe; recording is cheap enough for the request path.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kw::http {

// Labels in the order they are printed.
using Labels = std::vector<std::pair<std::string, std::string>>;

// How busy the evaluation workers are, read when metrics are rendered.
struct Saturation {
  size_t workers = 0, busy = 0, queued = 0, max_queued = 0;
};

class Metrics {
 public:
  // Upper bounds (inclusive, milliseconds) of the latency histogram buckets: the OpenTelemetry
  // SDK's default explicit bounds, which upstream's OTLP histogram used. +Inf is implicit.
  static constexpr std::array<double, 15> kBounds = {0,   5,   10,   25,   50,   75,   100,  250,
                                                     500, 750, 1000, 2500, 5000, 7500, 10000};

  // One evaluation: +1 on the counter and one latency observation, both with these labels.
  void recordEvaluation(const Labels& labels, double latency_ms);
  // A request answered without being evaluated because the server was overloaded: `reason`
  // is queue_full, policy_queue_full or deadline_exceeded_in_queue; `policy` may be empty
  // (unknown policy ids are not used as label values: clients choose them).
  void recordRejection(std::string_view policy, std::string_view reason);
  // Where the saturation gauges come from (the worker pool); none: no gauges.
  void setSaturationSource(std::function<Saturation()> source);
  // The Prometheus text exposition format (version 0.0.4), process metrics included.
  std::string render() const;
  // Only the evaluation families (no process metrics): deterministic, for tests and embedding.
  std::string renderEvaluations() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBounds.size()> buckets{};  // cumulative counts per bound (kBounds)
    uint64_t count = 0;
    double sum = 0;
  };
  void renderOverload(std::string& out) const;

  mutable std::mutex mu_;
  std::map<Labels, uint64_t> evaluations_;
  std::map<Labels, Histogram> latency_;
  std::map<Labels, uint64_t> rejections_;
  std::function<Saturation()> saturation_;
};

// Text-format helpers, shared with the process metrics.
// A label value with \, " and newline escaped, as the text format requires.
std::string escapeLabelValue(std::string_view value);
// A float sample value: shortest round-trip form; +Inf, -Inf, NaN spelled as Prometheus does.
std::string formatSampleValue(double value);

}  // namespace kw::http
