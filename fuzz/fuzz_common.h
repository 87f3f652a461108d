// What every fuzz target shares: quiet logs (a warning per input would dominate the run time and
// bury libFuzzer's own output) and a crash on a broken invariant, which libFuzzer records with
// the input that caused it.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace kw::fuzz {

inline void quietLogs() {
  spdlog::set_level(spdlog::level::off);
}

// An invariant of the code under test failed: print it and abort, so libFuzzer keeps the input.
[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// A target's own one-time set-up, run by fuzz_common.cc's LLVMFuzzerInitialize after the logs
// are quietened; the default does nothing, and a target that needs one defines it.
void prepare();

// Targets that feed several decoders take the first byte as the selector and the rest as the
// text, so one corpus covers them all. False for an empty input.
struct Selected {
  uint8_t selector = 0;
  std::string_view rest;
};
inline bool splitSelector(const uint8_t* data, size_t size, Selected& out) {
  if (size == 0) return false;
  out.selector = data[0];
  out.rest = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  return true;
}

}  // namespace kw::fuzz

#define KW_FUZZ_CHECK(cond)                 \
  do {                                      \
    if (!(cond)) ::kw::fuzz::broken(#cond); \
  } while (0)
