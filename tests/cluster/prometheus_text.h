// Reads the Prometheus text format kube-apiserver serves on /metrics: the samples of one metric,
// their sums, and quantiles of a histogram from its cumulative buckets.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kw::cluster {

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample named exactly `metric` (so "x_count" does not match "x_count_total").
std::vector<Sample> samplesOf(std::string_view text, std::string_view metric);

// The sum of the samples whose labels include every pair of `match`.
double sumOf(const std::vector<Sample>& samples,
             const std::map<std::string, std::string>& match = {});

// Cumulative histogram buckets (upper bound "le" → count) summed over the samples matching
// `match`; +Inf is the largest key.
std::map<double, double> bucketsOf(const std::vector<Sample>& bucket_samples,
                                   const std::map<std::string, std::string>& match = {});
// The q-quantile (0..1) by linear interpolation inside the bucket that holds it, as PromQL's
// histogram_quantile does. A quantile in the +Inf bucket answers the largest finite bound.
double quantileOf(const std::map<double, double>& buckets, double q);
// Per-bucket differences of two readings of the same histogram (after minus before).
std::map<double, double> bucketsMinus(const std::map<double, double>& after,
                                      const std::map<double, double>& before);

}  // namespace kw::cluster
