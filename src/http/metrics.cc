#include "http/metrics.h"

#include <fmt/format.h>

#include <cmath>

#include "http/process_metrics.h"

namespace kw::http {
namespace {

constexpr std::string_view kEvaluations = "kubewarden_policy_evaluations_total";
constexpr std::string_view kLatency = "kubewarden_policy_evaluation_latency_milliseconds";
constexpr std::string_view kRejected = "kubewarden_policy_server_rejected_requests_total";
constexpr std::string_view kWorkers = "kubewarden_policy_server_workers";
constexpr std::string_view kBusy = "kubewarden_policy_server_busy_workers";
constexpr std::string_view kQueued = "kubewarden_policy_server_queued_evaluations";
constexpr std::string_view kMaxQueued = "kubewarden_policy_server_max_queued_evaluations";

bool isNameChar(char c, bool first) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (!first && c >= '0' && c <= '9');
}

// Label names come from our own code, but one bad name would make Prometheus reject the whole
// scrape, so anything outside [a-zA-Z_][a-zA-Z0-9_]* becomes '_'.
std::string sanitizeLabelName(std::string_view name) {
  std::string out(name.empty() ? "_" : name);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!isNameChar(out[i], i == 0)) out[i] = '_';
  }
  return out;
}

// `{a="x",b="y"}`, with an optional trailing extra pair (the histogram's `le`).
std::string labelSet(const Labels& labels, std::string_view extra_name = {},
                     std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{}=\"{}\"", sanitizeLabelName(name), escapeLabelValue(value));
  }
  if (!extra_name.empty()) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{}=\"{}\"", extra_name, extra_value);
  }
  return out + "}";
}

void appendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string formatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void Metrics::recordEvaluation(const Labels& labels, double latency_ms) {
  // A clock hiccup must not poison _sum with a negative or NaN value.
  if (!(latency_ms >= 0)) latency_ms = 0;
  std::lock_guard lock(mu_);
  ++evaluations_[labels];
  Histogram& histogram = latency_[labels];
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (latency_ms <= kBounds[i]) ++histogram.buckets[i];
  }
  ++histogram.count;
  histogram.sum += latency_ms;
}

void Metrics::recordRejection(std::string_view policy, std::string_view reason) {
  Labels labels;
  if (!policy.empty()) labels.emplace_back("policy_name", std::string(policy));
  labels.emplace_back("reason", std::string(reason));
  std::lock_guard lock(mu_);
  ++rejections_[labels];
}

void Metrics::setSaturationSource(std::function<Saturation()> source) {
  std::lock_guard lock(mu_);
  saturation_ = std::move(source);
}

// Holds mu_.
void Metrics::renderOverload(std::string& out) const {
  appendHeader(out, kRejected,
               "Requests answered without evaluation because the server was overloaded.",
               "counter");
  for (const auto& [labels, count] : rejections_) {
    out += fmt::format("{}{} {}\n", kRejected, labelSet(labels), count);
  }
  if (!saturation_) return;
  const Saturation s = saturation_();
  auto gauge = [&out](std::string_view name, std::string_view help, size_t value) {
    appendHeader(out, name, help, "gauge");
    out += fmt::format("{} {}\n", name, value);
  };
  gauge(kWorkers, "Evaluation threads.", s.workers);
  gauge(kBusy, "Evaluation threads running an evaluation now.", s.busy);
  gauge(kQueued, "Requests waiting for an evaluation thread.", s.queued);
  gauge(kMaxQueued, "Requests that may wait before new ones are refused.", s.max_queued);
}

std::string Metrics::renderEvaluations() const {
  std::string out;
  std::lock_guard lock(mu_);
  appendHeader(out, kEvaluations, "Number of policy evaluations.", "counter");
  for (const auto& [labels, count] : evaluations_) {
    out += fmt::format("{}{} {}\n", kEvaluations, labelSet(labels), count);
  }
  appendHeader(out, kLatency, "Latency of policy evaluations, in milliseconds.", "histogram");
  for (const auto& [labels, histogram] : latency_) {
    for (size_t i = 0; i < kBounds.size(); ++i) {
      out +=
          fmt::format("{}_bucket{} {}\n", kLatency,
                      labelSet(labels, "le", formatSampleValue(kBounds[i])), histogram.buckets[i]);
    }
    out +=
        fmt::format("{}_bucket{} {}\n", kLatency, labelSet(labels, "le", "+Inf"), histogram.count);
    out +=
        fmt::format("{}_sum{} {}\n", kLatency, labelSet(labels), formatSampleValue(histogram.sum));
    out += fmt::format("{}_count{} {}\n", kLatency, labelSet(labels), histogram.count);
  }
  renderOverload(out);
  return out;
}

std::string Metrics::render() const {
  std::string out = renderEvaluations();
  if (auto stats = readProcessStats()) out += renderProcessMetrics(*stats);
  return out;
}

}  // namespace kw::http
