#include "cluster/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace kw::cluster {
namespace {

// `{a="x",b="y\"z"}` → labels; false on a malformed set.
bool parseLabels(std::string_view s, std::map<std::string, std::string>& out) {
  size_t i = 0;
  while (i < s.size()) {
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return false;
    std::string key(s.substr(i, eq - i));
    std::string value;
    size_t j = eq + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
        value += s[j] == 'n' ? '\n' : s[j];
      } else {
        value += s[j];
      }
    }
    if (j >= s.size()) return false;
    out[key] = value;
    i = j + 1;
    if (i < s.size() && s[i] == ',') ++i;
  }
  return true;
}

double parseValue(std::string_view s) {
  if (s == "+Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  return std::strtod(std::string(s).c_str(), nullptr);
}

bool matches(const Sample& sample, const std::map<std::string, std::string>& match) {
  for (const auto& [key, value] : match) {
    auto it = sample.labels.find(key);
    if (it == sample.labels.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace

std::vector<Sample> samplesOf(std::string_view text, std::string_view metric) {
  std::vector<Sample> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.compare(0, metric.size(), metric) != 0) continue;
    std::string_view rest = std::string_view(line).substr(metric.size());
    Sample sample;
    if (!rest.empty() && rest[0] == '{') {
      size_t close = rest.rfind('}');
      if (close == std::string_view::npos || !parseLabels(rest.substr(1, close - 1), sample.labels))
        continue;
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || rest[0] != ' ') continue;  // a longer name with the same prefix
    rest = rest.substr(1);
    sample.value = parseValue(rest.substr(0, rest.find(' ')));  // drop an optional timestamp
    out.push_back(std::move(sample));
  }
  return out;
}

double sumOf(const std::vector<Sample>& samples, const std::map<std::string, std::string>& match) {
  double total = 0;
  for (const auto& s : samples)
    if (matches(s, match)) total += s.value;
  return total;
}

std::map<double, double> bucketsOf(const std::vector<Sample>& bucket_samples,
                                   const std::map<std::string, std::string>& match) {
  std::map<double, double> buckets;
  for (const auto& s : bucket_samples) {
    auto le = s.labels.find("le");
    if (le == s.labels.end() || !matches(s, match)) continue;
    buckets[parseValue(le->second)] += s.value;
  }
  return buckets;
}

std::map<double, double> bucketsMinus(const std::map<double, double>& after,
                                      const std::map<double, double>& before) {
  std::map<double, double> out;
  for (const auto& [le, count] : after) {
    auto it = before.find(le);
    out[le] = count - (it == before.end() ? 0 : it->second);
  }
  return out;
}

double quantileOf(const std::map<double, double>& buckets, double q) {
  if (buckets.empty()) return std::nan("");
  double total = buckets.rbegin()->second;
  if (total <= 0) return std::nan("");
  double rank = q * total;
  double lower = 0, below = 0, last_finite = 0;
  for (const auto& [le, count] : buckets) {
    if (std::isinf(le)) return last_finite;
    if (count >= rank) {
      double in_bucket = count - below;
      if (in_bucket <= 0) return le;
      return lower + (le - lower) * (rank - below) / in_bucket;
    }
    lower = le;
    below = count;
    last_finite = le;
  }
  return last_finite;
}

}  // namespace kw::cluster
