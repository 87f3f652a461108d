// What every fuzz target shares: quiet logs (a warning per input would dominate the run time and
// bury libFuzzer's own output) and a crash on a broken invariant, which libFuzzer records with
// the input that caused it.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace kw::fuzz {

inline void quietLogs() {
  spdlog::set_level(spdlog::level::off);
}

// An invariant of the code under test failed: print it and abort, so libFuzzer keeps the input.
[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace kw::fuzz

#define KW_FUZZ_CHECK(cond)                 \
  do {                                      \
    if (!(cond)) ::kw::fuzz::broken(#cond); \
  } while (0)
