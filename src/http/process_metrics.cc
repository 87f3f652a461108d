#include "http/process_metrics.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include "http/metrics.h"

namespace kw::http {
namespace {

std::string readWholeFile(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

template <typename T>
bool parseNumber(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> splitSpaces(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of(" \n", pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) fields.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return fields;
}

// btime: the boot time, which start times in /proc/<pid>/stat are relative to.
std::optional<double> bootTime() {
  std::istringstream in(readWholeFile("/proc/stat"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) != 0) continue;
    uint64_t value = 0;
    if (parseNumber(std::string_view(line).substr(6), value)) return static_cast<double>(value);
  }
  return std::nullopt;
}

std::optional<uint64_t> countOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  uint64_t count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

std::optional<uint64_t> maxFds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

void appendFamily(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type, const std::string& sample) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, sample);
}

// Integers print exactly; a double would switch to exponent form for large byte counts.
void appendGauge(std::string& out, std::string_view name, std::string_view help, uint64_t value) {
  appendFamily(out, name, help, "gauge", std::to_string(value));
}

}  // namespace

std::optional<ProcessStats> parseProcStat(std::string_view stat, long clock_ticks, long page_size,
                                          double boot_time) {
  // The command name (field 2) is parenthesised and may itself contain spaces and ')'.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || clock_ticks <= 0) return std::nullopt;
  std::vector<std::string_view> fields = splitSpaces(stat.substr(close + 1));
  // fields[0] is field 3 (state) of proc(5); field N is fields[N - 3].
  auto field = [&](size_t n) { return fields[n - 3]; };
  if (fields.size() < 22) return std::nullopt;
  uint64_t utime = 0, stime = 0, threads = 0, start = 0, vsize = 0;
  int64_t rss = 0;
  if (!parseNumber(field(14), utime) || !parseNumber(field(15), stime) ||
      !parseNumber(field(20), threads) || !parseNumber(field(22), start) ||
      !parseNumber(field(23), vsize) || !parseNumber(field(24), rss)) {
    return std::nullopt;
  }
  ProcessStats stats;
  const auto ticks = static_cast<double>(clock_ticks);
  stats.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  stats.threads = threads;
  stats.start_time_seconds = boot_time + static_cast<double>(start) / ticks;
  stats.virtual_bytes = vsize;
  stats.resident_bytes =
      rss > 0 ? static_cast<uint64_t>(rss) * static_cast<uint64_t>(page_size) : 0;
  return stats;
}

std::optional<ProcessStats> readProcessStats() {
  std::string stat = readWholeFile("/proc/self/stat");
  std::optional<double> boot = bootTime();
  if (stat.empty() || !boot) return std::nullopt;
  auto stats = parseProcStat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), *boot);
  if (!stats) return std::nullopt;
  stats->open_fds = countOpenFds();
  stats->max_fds = maxFds();
  return stats;
}

std::string renderProcessMetrics(const ProcessStats& s) {
  std::string out;
  appendFamily(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               "counter", formatSampleValue(s.cpu_seconds));
  if (s.open_fds) {
    appendGauge(out, "process_open_fds", "Number of open file descriptors.", *s.open_fds);
  }
  if (s.max_fds) {
    appendGauge(out, "process_max_fds", "Maximum number of open file descriptors.", *s.max_fds);
  }
  appendGauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
              s.resident_bytes);
  appendGauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
              s.virtual_bytes);
  appendFamily(out, "process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", "gauge",
               formatSampleValue(s.start_time_seconds));
  appendGauge(out, "process_threads", "Number of OS threads in the process.", s.threads);
  return out;
}

}  // namespace kw::http
