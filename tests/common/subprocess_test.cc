#include "common/subprocess.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kw {
namespace {

using End = ProcessOutcome::End;

ProcessSpec shell(const std::string& script) {
  ProcessSpec spec;
  spec.program = "sh";
  spec.args = {"-c", script};
  return spec;
}

TEST(Subprocess, BothStreamsAreDrainedWithoutDeadlockAndStderrIsCapped) {
  // Each stream alone overflows a pipe buffer many times: reading one and then the other would
  // leave the child blocked on the second.
  auto run =
      runProcess(shell("head -c 1000000 /dev/zero | tr '\\0' e >&2; "
                       "head -c 1000000 /dev/zero | tr '\\0' o; exit 5"));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->end, End::kExited);
  EXPECT_EQ(run->code, 5);
  EXPECT_EQ(run->out, std::string(1000000, 'o'));
  EXPECT_EQ(run->err, std::string(64u << 10, 'e'));
}

TEST(Subprocess, EnvironmentIsInheritedWithTheSpecsEntriesOnTop) {
  ::setenv("KW_SUBPROCESS_KEPT", "kept", 1);
  ::setenv("KW_SUBPROCESS_REPLACED", "old", 1);
  ProcessSpec spec = shell(
      "printf '%s|%s|%s' \"$KW_SUBPROCESS_KEPT\" \"$KW_SUBPROCESS_REPLACED\" "
      "\"$KW_SUBPROCESS_NEW\"");
  spec.env = {{"KW_SUBPROCESS_REPLACED", "first"},
              {"KW_SUBPROCESS_NEW", "added"},
              {"KW_SUBPROCESS_REPLACED", "new"}};
  auto run = runProcess(spec);
  ::unsetenv("KW_SUBPROCESS_KEPT");
  ::unsetenv("KW_SUBPROCESS_REPLACED");
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->out, "kept|new|added");
}

TEST(Subprocess, StdinIsEmpty) {
  ProcessSpec spec;
  spec.program = "cat";  // would wait for input forever on an inherited terminal or pipe
  spec.timeout = std::chrono::seconds(20);
  auto run = runProcess(spec);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->end, End::kExited);
  EXPECT_EQ(run->out, "");
}

TEST(Subprocess, MissingAndNonExecutablePrograms) {
  ProcessSpec spec;
  spec.program = "kw-no-such-program";
  auto missing = runProcess(spec);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->end, End::kNotFound);
  auto dir =
      std::filesystem::temp_directory_path() / ("kw-subprocess-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "plain") << "#!/bin/sh\n";
  ::chmod((dir / "plain").c_str(), 0644);
  spec.program = (dir / "plain").string();
  auto denied = runProcess(spec);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().message, "cannot run " + spec.program + ": Permission denied");
}

TEST(Subprocess, OverrunningTimeOrOutputKillsTheChild) {
  ProcessSpec spec = shell("sleep 30 & sleep 30");
  spec.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto slow = runProcess(spec);
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow->end, End::kTimedOut);
  // The background sleep holds the pipes open too: the deadline still ends the wait.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  ProcessSpec flood = shell("exec cat /dev/zero");
  flood.max_stdout = 100000;
  auto flooded = runProcess(flood);
  ASSERT_TRUE(flooded.ok());
  EXPECT_EQ(flooded->end, End::kStdoutTooLarge);
  EXPECT_LE(flooded->out.size(), 100000u + (16u << 10));
}

}  // namespace
}  // namespace kw
