#include "kwctl/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>

namespace kw::kwctl {
namespace {
using Clock = std::chrono::steady_clock;
}

std::string formatSize(double bytes) {
  static constexpr std::array<const char*, 9> kUnits{"B",  "kB", "MB", "GB", "TB",
                                                     "PB", "EB", "ZB", "YB"};
  std::string sign = bytes < 0 ? "-" : "";
  bytes = std::fabs(bytes);
  if (bytes < 1) return fmt::format("{}{} B", sign, bytes);
  int exponent =
      std::min(int(std::floor(std::log(bytes) / std::log(1000.0))), int(kUnits.size()) - 1);
  double value = std::round(bytes / std::pow(1000.0, exponent) * 100) / 100;
  // {} prints the shortest form, so 1.50 shows as 1.5 and 2.00 as 2, as upstream.
  return fmt::format("{}{} {}", sign, value, kUnits[size_t(exponent)]);
}

std::string renderProgress(std::string_view label, uint64_t done, uint64_t total, double seconds,
                           size_t bar_width) {
  std::string speed = seconds > 0 ? formatSize(double(done) / seconds) + "/s" : "";
  if (total == 0) return fmt::format("{} {} {}", label, formatSize(double(done)), speed);
  size_t filled = size_t(double(bar_width) * double(std::min(done, total)) / double(total));
  return fmt::format("{} [{}{}] {} / {} {}", label, std::string(filled, '#'),
                     std::string(bar_width - filled, ' '), formatSize(double(done)),
                     formatSize(double(total)), speed);
}

struct ProgressBar::State {
  std::mutex mutex;
  std::string label;
  bool enabled = false;
  bool drawn = false;
  Clock::time_point start = Clock::now();
  Clock::time_point last_draw{};
  uint64_t done = 0, total = 0;

  void draw() {
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::string line = renderProgress(label, done, total, seconds);
    // \x1b[K clears what a longer previous line left behind.
    std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    std::fflush(stderr);
    drawn = true;
  }
};

ProgressBar::ProgressBar(std::string label, bool enabled) : state_(std::make_shared<State>()) {
  state_->label = std::move(label);
  state_->enabled = enabled;
}

ProgressBar::~ProgressBar() {
  finish();
}

bool ProgressBar::stderrIsTty() {
  return ::isatty(STDERR_FILENO) == 1;
}

oci::ProgressFn ProgressBar::callback() {
  if (!state_->enabled) return {};
  std::weak_ptr<State> weak = state_;
  return [weak](uint64_t done, uint64_t total) {
    auto s = weak.lock();
    if (!s) return;
    std::lock_guard lock(s->mutex);
    s->done = done;
    s->total = total;
    auto now = Clock::now();
    if (now - s->last_draw < std::chrono::milliseconds(100)) return;
    s->last_draw = now;
    s->draw();
  };
}

void ProgressBar::finish() {
  std::lock_guard lock(state_->mutex);
  if (!state_->enabled || !state_->drawn) return;
  state_->draw();
  std::fputc('\n', stderr);
  state_->drawn = false;
  state_->enabled = false;
}

}  // namespace kw::kwctl
