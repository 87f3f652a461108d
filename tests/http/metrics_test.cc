// Metrics: the Prometheus text exposition format (HELP/TYPE, label escaping, cumulative
// histogram buckets with the OpenTelemetry default bounds), process metrics from procfs, and
// recording from many threads at once.
#include "http/metrics.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "http/process_metrics.h"
#include "support/cant_run.h"

namespace kw::http {
namespace {

constexpr const char* kCounter = "kubewarden_policy_evaluations_total";
constexpr const char* kHistogram = "kubewarden_policy_evaluation_latency_milliseconds";

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The sample value of the line that starts with `series` + " ", or NaN when absent.
double sample(const std::string& text, const std::string& series) {
  for (const std::string& line : lines(text)) {
    if (line.rfind(series + " ", 0) == 0) return std::strtod(line.c_str() + series.size(), nullptr);
  }
  return std::nan("");
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::string bucket(const std::string& labels, const std::string& le) {
  return std::string(kHistogram) + "_bucket{" + labels + ",le=\"" + le + "\"}";
}

// Checks the structure a Prometheus scraper relies on: every sample belongs to a family
// announced by a TYPE line, names are valid, values parse, and there is a final newline.
void expectWellFormed(const std::string& text) {
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::set<std::string> families;
  for (const std::string& line : lines(text)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream in(line.substr(7));
      std::string name, type;
      in >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_TRUE(families.insert(name).second) << "family announced twice: " << name;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    size_t name_end = line.find_first_of("{ ");
    ASSERT_NE(name_end, std::string::npos) << line;
    std::string name = line.substr(0, name_end);
    for (char c : name)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_') << line;
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (!families.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0) {
        family.resize(family.size() - s.size());
      }
    }
    EXPECT_TRUE(families.count(family)) << "sample before its TYPE line: " << line;
    std::string value = line.substr(line.rfind(' ') + 1);
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    EXPECT_TRUE(*end == '\0' || value == "+Inf" || value == "NaN") << line;
  }
}

TEST(MetricsTest, EmptyRegistryStillAnnouncesTheFamilies) {
  Metrics metrics;
  std::string text = metrics.renderEvaluations();
  EXPECT_TRUE(contains(text, std::string("# HELP ") + kCounter + " "));
  EXPECT_TRUE(contains(text, std::string("# TYPE ") + kCounter + " counter\n"));
  EXPECT_TRUE(contains(text, std::string("# TYPE ") + kHistogram + " histogram\n"));
  expectWellFormed(text);
}

TEST(MetricsTest, CounterAndHistogramSeries) {
  Metrics metrics;
  Labels labels = {{"policy_name", "p"}, {"accepted", "true"}};
  metrics.recordEvaluation(labels, 7);
  metrics.recordEvaluation(labels, 30);
  metrics.recordEvaluation(labels, 20000);
  std::string text = metrics.renderEvaluations();
  const std::string set = R"(policy_name="p",accepted="true")";

  EXPECT_EQ(sample(text, std::string(kCounter) + "{" + set + "}"), 3);
  EXPECT_EQ(sample(text, bucket(set, "0")), 0);
  EXPECT_EQ(sample(text, bucket(set, "5")), 0);
  EXPECT_EQ(sample(text, bucket(set, "10")), 1);
  EXPECT_EQ(sample(text, bucket(set, "25")), 1);
  EXPECT_EQ(sample(text, bucket(set, "50")), 2);
  EXPECT_EQ(sample(text, bucket(set, "10000")), 2);
  EXPECT_EQ(sample(text, bucket(set, "+Inf")), 3);
  EXPECT_EQ(sample(text, std::string(kHistogram) + "_sum{" + set + "}"), 20037);
  EXPECT_EQ(sample(text, std::string(kHistogram) + "_count{" + set + "}"), 3);
  expectWellFormed(text);
}

TEST(MetricsTest, BucketsUseTheOpenTelemetryBoundsAndAreCumulative) {
  Metrics metrics;
  Labels labels = {{"policy_name", "q"}};
  // One observation exactly on each bound (bounds are inclusive) and one past the last.
  for (double bound : Metrics::kBounds) metrics.recordEvaluation(labels, bound);
  metrics.recordEvaluation(labels, 1e6);
  std::string text = metrics.renderEvaluations();

  const std::vector<std::string> expected_le = {"0",    "5",    "10",    "25",  "50",   "75",
                                                "100",  "250",  "500",   "750", "1000", "2500",
                                                "5000", "7500", "10000", "+Inf"};
  double previous = 0;
  for (size_t i = 0; i < expected_le.size(); ++i) {
    double count = sample(text, bucket(R"(policy_name="q")", expected_le[i]));
    EXPECT_EQ(count, i < Metrics::kBounds.size() ? i + 1 : Metrics::kBounds.size() + 1)
        << "le=" << expected_le[i];
    EXPECT_GE(count, previous);
    previous = count;
  }
  EXPECT_EQ(sample(text, std::string(kHistogram) + R"(_count{policy_name="q"})"), previous);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Metrics metrics;
  metrics.recordEvaluation({{"policy_name", "a\"b\\c\nd"}, {"bad-name", "x"}}, 1);
  std::string text = metrics.renderEvaluations();
  EXPECT_TRUE(
      contains(text, std::string(kCounter) + R"({policy_name="a\"b\\c\nd",bad_name="x"} 1)"))
      << text;
  EXPECT_EQ(escapeLabelValue("plain"), "plain");
  EXPECT_EQ(escapeLabelValue("\\\"\n"), R"(\\\"\n)");
  expectWellFormed(text);
}

TEST(MetricsTest, DistinctLabelSetsAreDistinctSeries) {
  Metrics metrics;
  metrics.recordEvaluation({{"policy_name", "a"}, {"accepted", "true"}}, 1);
  metrics.recordEvaluation({{"policy_name", "a"}, {"accepted", "false"}}, 1);
  metrics.recordEvaluation({{"policy_name", "a"}, {"accepted", "false"}}, 1);
  std::string text = metrics.renderEvaluations();
  EXPECT_EQ(sample(text, std::string(kCounter) + R"({policy_name="a",accepted="true"})"), 1);
  EXPECT_EQ(sample(text, std::string(kCounter) + R"({policy_name="a",accepted="false"})"), 2);
}

TEST(MetricsTest, InvalidLatenciesDoNotPoisonTheSum) {
  Metrics metrics;
  metrics.recordEvaluation({{"p", "x"}}, -3);
  metrics.recordEvaluation({{"p", "x"}}, std::nan(""));
  metrics.recordEvaluation({{"p", "x"}}, 2.5);
  std::string text = metrics.renderEvaluations();
  EXPECT_EQ(sample(text, std::string(kHistogram) + R"(_sum{p="x"})"), 2.5);
  EXPECT_EQ(sample(text, bucket(R"(p="x")", "0")), 2);
}

TEST(MetricsTest, SampleValuesFormatting) {
  EXPECT_EQ(formatSampleValue(12.5), "12.5");
  EXPECT_EQ(formatSampleValue(3), "3");
  EXPECT_EQ(formatSampleValue(INFINITY), "+Inf");
  EXPECT_EQ(formatSampleValue(-INFINITY), "-Inf");
  EXPECT_EQ(formatSampleValue(std::nan("")), "NaN");
}

TEST(MetricsTest, ConcurrentRecordingLosesNothing) {
  Metrics metrics;
  constexpr int kThreads = 8, kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      Labels labels = {{"policy_name", t % 2 == 0 ? "even" : "odd"}};
      for (int i = 0; i < kPerThread; ++i) {
        metrics.recordEvaluation(labels, i % 20);
        if (i % 500 == 0) (void)metrics.render();  // scrapes race with recording
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::string text = metrics.renderEvaluations();
  const double per_set = kThreads / 2 * kPerThread;
  for (const char* set : {R"(policy_name="even")", R"(policy_name="odd")"}) {
    EXPECT_EQ(sample(text, std::string(kCounter) + "{" + set + "}"), per_set);
    EXPECT_EQ(sample(text, std::string(kHistogram) + "_count{" + set + "}"), per_set);
    EXPECT_EQ(sample(text, bucket(set, "+Inf")), per_set);
    // 0..4 of every 20 values land in le=5 (0..5 inclusive: 6 of 20).
    EXPECT_EQ(sample(text, bucket(set, "5")), per_set * 6 / 20);
  }
}

TEST(MetricsTest, RenderIncludesProcessMetrics) {
  Metrics metrics;
  metrics.recordEvaluation({{"policy_name", "p"}}, 1);
  std::string text = metrics.render();
  expectWellFormed(text);
  if (!readProcessStats()) KW_CANT_RUN() << "no procfs here";
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 0);
  EXPECT_GT(sample(text, "process_virtual_memory_bytes"), 0);
  EXPECT_GE(sample(text, "process_cpu_seconds_total"), 0);
  EXPECT_GT(sample(text, "process_open_fds"), 2);  // at least stdin/stdout/stderr
  EXPECT_GE(sample(text, "process_threads"), 1);
  // Started within the last day, and not in the future.
  double start = sample(text, "process_start_time_seconds");
  double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 86400);
  EXPECT_TRUE(contains(text, "# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_TRUE(contains(text, "# TYPE process_resident_memory_bytes gauge\n"));
}

TEST(MetricsTest, ProcStatParsingToleratesOddCommandNames) {
  // Fields 3.. of proc(5); the command name contains spaces and a ')'.
  std::string stat =
      "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 "
      "1000 123456789 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto stats = parseProcStat(stat, 100, 4096, 1700000000);
  ASSERT_TRUE(stats);
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 3.0);  // (250 + 50) / 100
  EXPECT_EQ(stats->threads, 7u);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1700000010.0);
  EXPECT_EQ(stats->virtual_bytes, 123456789u);
  EXPECT_EQ(stats->resident_bytes, 300u * 4096u);
  EXPECT_FALSE(parseProcStat("garbage", 100, 4096, 0));
  EXPECT_FALSE(parseProcStat("1 (x) S 1 2", 100, 4096, 0));
}

}  // namespace
}  // namespace kw::http
