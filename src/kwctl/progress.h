// A one-line progress bar for pull and push on stderr: bytes moved, total, speed. Drawn only
// when stderr is a terminal, so scripts and logs never see carriage returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "oci/registry_client.h"

namespace kw::kwctl {

// Sizes as upstream kwctl prints them (the pretty-bytes crate): decimal units B, kB, MB, GB...,
// at most two decimals with trailing zeros dropped, e.g. "512 B", "1.5 kB", "20.97 MB".
std::string formatSize(double bytes);

// "<label> [#####     ] 1.05 MB / 2.1 MB 3.2 MB/s"; `total` 0 means unknown (no bar).
std::string renderProgress(std::string_view label, uint64_t done, uint64_t total, double seconds,
                           size_t bar_width = 30);

class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  static bool stderrIsTty();
  // A callback for ClientOptions::progress; redraws at most ten times a second.
  oci::ProgressFn callback();
  // Draws the final state and ends the line (only if anything was drawn).
  void finish();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace kw::kwctl
