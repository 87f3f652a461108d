#include "wasi/wasi_context.h"

#include <openssl/rand.h>
#include <time.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

#include "wasi/wasi_abi.h"

namespace kw::wasi {
namespace {

// RAND_bytes takes an int length, so large requests go in slices.
bool opensslRandom(std::span<uint8_t> dst) {
  while (!dst.empty()) {
    size_t n = std::min<size_t>(dst.size(), INT_MAX);
    if (RAND_bytes(dst.data(), static_cast<int>(n)) != 1) return false;
    dst = dst.subspan(n);
  }
  return true;
}

std::optional<clockid_t> hostClock(uint32_t clock_id) {
  switch (clock_id) {
    case kClockRealtime:
      return CLOCK_REALTIME;
    case kClockMonotonic:
      return CLOCK_MONOTONIC;
    case kClockProcessCputime:
      return CLOCK_PROCESS_CPUTIME_ID;
    // Each instance runs on its own calling thread, so the thread clock is the guest's.
    case kClockThreadCputime:
      return CLOCK_THREAD_CPUTIME_ID;
    default:
      return std::nullopt;
  }
}

uint64_t toNanos(const timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

StdioFd makeStdio(uint64_t direction_right) {
  StdioFd fd;
  fd.rights_base = direction_right | rights::kFdFdstatSetFlags | rights::kFdSync |
                   rights::kFdDatasync | rights::kFdFilestatGet | rights::kPollFdReadwrite;
  return fd;
}

}  // namespace

WasiContext::WasiContext()
    : random_(opensslRandom),
      stdio_{makeStdio(rights::kFdRead), makeStdio(rights::kFdWrite), makeStdio(rights::kFdWrite)} {
}

void WasiContext::setStdin(std::string data) {
  std::lock_guard lock(streams_mu_);
  stdin_ = std::move(data);
  stdin_offset_ = 0;
}

void WasiContext::appendStdin(std::string_view data) {
  std::lock_guard lock(streams_mu_);
  stdin_.append(data);
}

size_t WasiContext::readStdin(std::span<uint8_t> dst) {
  std::lock_guard lock(streams_mu_);
  size_t n = std::min(dst.size(), stdin_.size() - stdin_offset_);
  if (n > 0) std::memcpy(dst.data(), stdin_.data() + stdin_offset_, n);
  stdin_offset_ += n;
  // Drop consumed input so a long exchange of host-call replies does not accumulate.
  if (stdin_offset_ == stdin_.size()) {
    stdin_.clear();
    stdin_offset_ = 0;
  }
  return n;
}

size_t WasiContext::stdinAvailable() const {
  std::lock_guard lock(streams_mu_);
  return stdin_.size() - stdin_offset_;
}

size_t WasiContext::appendCapped(std::string& stream, bool& truncated, std::string_view bytes) {
  size_t room = output_cap_ > stream.size() ? output_cap_ - stream.size() : 0;
  size_t kept = std::min(room, bytes.size());
  if (kept < bytes.size()) truncated = true;
  stream.append(bytes.substr(0, kept));
  return kept;
}

size_t WasiContext::appendStdout(std::string_view bytes) {
  std::lock_guard lock(streams_mu_);
  return appendCapped(stdout_buf_, stdout_truncated_, bytes);
}

size_t WasiContext::appendStderr(std::string_view bytes) {
  std::lock_guard lock(streams_mu_);
  return appendCapped(stderr_buf_, stderr_truncated_, bytes);
}

size_t WasiContext::stdoutRoom() const {
  std::lock_guard lock(streams_mu_);
  return output_cap_ > stdout_buf_.size() ? output_cap_ - stdout_buf_.size() : 0;
}

size_t WasiContext::stderrRoom() const {
  std::lock_guard lock(streams_mu_);
  return output_cap_ > stderr_buf_.size() ? output_cap_ - stderr_buf_.size() : 0;
}

std::string WasiContext::capturedStdout() const {
  std::lock_guard lock(streams_mu_);
  return stdout_buf_;
}

std::string WasiContext::capturedStderr() const {
  std::lock_guard lock(streams_mu_);
  return stderr_buf_;
}

std::string WasiContext::takeStdout() {
  std::lock_guard lock(streams_mu_);
  return std::exchange(stdout_buf_, std::string());
}

std::string WasiContext::takeStderr() {
  std::lock_guard lock(streams_mu_);
  return std::exchange(stderr_buf_, std::string());
}

bool WasiContext::stdoutTruncated() const {
  std::lock_guard lock(streams_mu_);
  return stdout_truncated_;
}

bool WasiContext::stderrTruncated() const {
  std::lock_guard lock(streams_mu_);
  return stderr_truncated_;
}

bool WasiContext::fillRandom(std::span<uint8_t> dst) const {
  if (dst.empty()) return true;
  return random_ && random_(dst);
}

std::optional<uint64_t> WasiContext::clockTime(uint32_t clock_id) const {
  auto clock = hostClock(clock_id);
  if (!clock) return std::nullopt;
  timespec ts{};
  if (clock_gettime(*clock, &ts) != 0) return std::nullopt;
  return toNanos(ts);
}

std::optional<uint64_t> WasiContext::clockResolution(uint32_t clock_id) const {
  auto clock = hostClock(clock_id);
  if (!clock) return std::nullopt;
  timespec ts{};
  if (clock_getres(*clock, &ts) != 0) return std::nullopt;
  // The spec requires a non-zero resolution for supported clocks.
  return std::max<uint64_t>(toNanos(ts), 1);
}

StdioFd* WasiContext::stdioFd(uint32_t fd) {
  if (fd >= stdio_.size() || !stdio_[fd].open) return nullptr;
  return &stdio_[fd];
}

}  // namespace kw::wasi
