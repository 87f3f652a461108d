// Per-instance state of the in-memory WASI preview1 host: arguments, environment, an in-memory
// stdin, captured stdout/stderr, the exit code, randomness and clocks. Nothing here touches the
// host filesystem or network; the only descriptors are 0, 1 and 2.
//
// Threading: an instance runs on one thread and so do the WASI callbacks. The stream methods
// (appendStdin, setStdin, captured*/take*, the append* writers) are additionally guarded by a
// mutex, so the embedder may feed stdin or inspect output from another thread while the guest
// runs. Everything else belongs to the instance's thread.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kw::wasi {

// State of one stdio descriptor as the guest sees it through fd_fdstat_*.
struct StdioFd {
  bool open = true;
  uint16_t flags = 0;        // fdflags the guest set (recorded, no behavioural effect)
  uint64_t rights_base = 0;  // may only shrink (fd_fdstat_set_rights)
  uint64_t rights_inheriting = 0;
};

class WasiContext {
 public:
  static constexpr size_t kDefaultOutputCap = size_t{64} << 20;
  static constexpr std::chrono::milliseconds kDefaultMaxPollSleep{100};

  // Fills a buffer with random bytes; false when no randomness is available.
  using RandomSource = std::function<bool(std::span<uint8_t>)>;

  WasiContext();
  WasiContext(const WasiContext&) = delete;
  WasiContext& operator=(const WasiContext&) = delete;

  // Command line and environment ("KEY=VALUE" entries) handed to the guest verbatim.
  void setArgs(std::vector<std::string> args) { args_ = std::move(args); }
  const std::vector<std::string>& args() const { return args_; }
  void setEnv(std::vector<std::string> env) { env_ = std::move(env); }
  const std::vector<std::string>& env() const { return env_; }

  // stdin: a byte buffer consumed front to back. Appending is allowed at any time, including
  // from inside a host call while the guest runs (Kubewarden's WASI host-call replies arrive
  // this way). An empty buffer reads as end-of-file (0 bytes), not as "would block".
  void setStdin(std::string data);
  void appendStdin(std::string_view data);
  size_t readStdin(std::span<uint8_t> dst);  // returns bytes copied; 0 at end of input
  size_t stdinAvailable() const;

  // stdout/stderr capture. Each stream holds at most outputCap() bytes. A write that does not
  // fit is shortened to what fits (a short write, like POSIX under RLIMIT_FSIZE) and the stream
  // is marked truncated; once a stream is full further writes fail with ERRNO_FBIG. Guests
  // thus see an error rather than silent loss, and the host never grows without bound.
  void setOutputCap(size_t bytes) { output_cap_ = bytes; }
  size_t outputCap() const { return output_cap_; }
  size_t appendStdout(std::string_view bytes);  // returns bytes kept
  size_t appendStderr(std::string_view bytes);
  size_t stdoutRoom() const;
  size_t stderrRoom() const;
  std::string capturedStdout() const;
  std::string capturedStderr() const;
  std::string takeStdout();  // moves the captured bytes out and empties the stream
  std::string takeStderr();
  bool stdoutTruncated() const;
  bool stderrTruncated() const;

  // proc_exit records its status here before unwinding the guest.
  void setExitCode(int32_t code) { exit_code_ = code; }
  std::optional<int32_t> exitCode() const { return exit_code_; }

  // Randomness for random_get; defaults to OpenSSL's CSPRNG. Tests may inject a fixed source.
  void setRandomSource(RandomSource source) { random_ = std::move(source); }
  bool fillRandom(std::span<uint8_t> dst) const;

  // WASI clocks (realtime, monotonic, process/thread CPU time) in nanoseconds; nullopt for an
  // unknown clock id or when the host clock fails.
  std::optional<uint64_t> clockTime(uint32_t clock_id) const;
  std::optional<uint64_t> clockResolution(uint32_t clock_id) const;

  // poll_oneoff never blocks longer than this per call: the engine's deadline cannot interrupt
  // a host function that is asleep, so a guest sleeping "forever" must come back regularly.
  void setMaxPollSleep(std::chrono::nanoseconds d) { max_poll_sleep_ = d; }
  std::chrono::nanoseconds maxPollSleep() const { return max_poll_sleep_; }

  // The stdio descriptor table; nullptr for any fd that is not 0..2 or has been closed.
  StdioFd* stdioFd(uint32_t fd);

 private:
  size_t appendCapped(std::string& stream, bool& truncated, std::string_view bytes);

  std::vector<std::string> args_;
  std::vector<std::string> env_;

  mutable std::mutex streams_mu_;
  std::string stdin_;
  size_t stdin_offset_ = 0;
  std::string stdout_buf_;
  std::string stderr_buf_;
  bool stdout_truncated_ = false;
  bool stderr_truncated_ = false;
  size_t output_cap_ = kDefaultOutputCap;

  std::optional<int32_t> exit_code_;
  RandomSource random_;
  std::chrono::nanoseconds max_poll_sleep_ = kDefaultMaxPollSleep;
  std::array<StdioFd, 3> stdio_;
};

}  // namespace kw::wasi
