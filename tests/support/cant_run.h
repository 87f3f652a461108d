// For tests that find something they need missing (a binary, ../shared, a registry, openssl):
// KW_CANT_RUN() << why; skips on a developer's machine, but fails under CI=true, where a
// missing piece means a broken install, not a reason for a green run.
#pragma once

#include <gtest/gtest.h>

namespace kw::test {

// CI=true: every test must run.
bool everyTestMustRun();
inline ::testing::TestPartResult::Type cantRunOutcome() {
  return everyTestMustRun() ? ::testing::TestPartResult::kFatalFailure
                            : ::testing::TestPartResult::kSkip;
}
inline const char* cantRunPrefix() {
  return everyTestMustRun() ? "cannot run, and CI=true requires every test to run: " : "";
}

}  // namespace kw::test

// Like GTEST_SKIP(): returns from the current function, and takes a streamed reason.
#define KW_CANT_RUN()                                                                        \
  return ::testing::internal::AssertHelper(::kw::test::cantRunOutcome(), __FILE__, __LINE__, \
                                           ::kw::test::cantRunPrefix()) = ::testing::Message()
