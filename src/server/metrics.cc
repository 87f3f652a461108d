#include "server/metrics.h"

#include <fmt/format.h>

#include <cmath>

#include "server/process_metrics.h"

namespace kw::server {
namespace {

constexpr std::string_view kEvaluations = "kubewarden_policy_evaluations_total";
constexpr std::string_view kLatency = "kubewarden_policy_evaluation_latency_milliseconds";

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
  return out;
}

std::string Metrics::render() const {
  std::string out = renderEvaluations();
  if (auto stats = readProcessStats()) out += renderProcessMetrics(*stats);
  return out;
}

}  // namespace kw::server
