// The standard Prometheus process_* metrics (the names every client library exports, so
// stock dashboards and alerts work), read from Linux procfs on each scrape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kw::http {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  uint64_t threads = 0;
  std::optional<uint64_t> open_fds;
  std::optional<uint64_t> max_fds;  // soft RLIMIT_NOFILE; absent when unlimited
};

// Parses the text of /proc/<pid>/stat. `boot_time` is btime from /proc/stat (seconds since
// the epoch). nullopt when the text is not a stat line.
std::optional<ProcessStats> parseProcStat(std::string_view stat, long clock_ticks, long page_size,
                                          double boot_time);

// Reads /proc/self; nullopt where procfs is unavailable (the metrics are then left out).
std::optional<ProcessStats> readProcessStats();

// HELP/TYPE/sample lines for every available field.
std::string renderProcessMetrics(const ProcessStats& stats);

}  // namespace kw::http
