// Runs a helper program to completion and collects what it prints: kubeconfig exec credential
// plugins (aws, gke-gcloud-auth-plugin, kubelogin...). The child gets /dev/null as stdin (we
// never have a terminal to lend it), runs in its own process group, and is killed with that
// group when it overruns its time or prints more than we accept, so neither a hung plugin nor
// a runaway one can block or grow the caller. It is always reaped: no zombies.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kw {

struct ProcessSpec {
  std::string program;            // with a '/': used as is; else searched in $PATH
  std::vector<std::string> args;  // argv[1..]
  // Added to (or replacing same-named entries of) the inherited environment; a name given twice
  // takes its last value.
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds timeout{60000};
  size_t max_stdout = 4u << 20;
  size_t max_stderr_kept = 64u << 10;  // more is read and dropped, never blocking the child
};

struct ProcessOutcome {
  enum class End { kExited, kSignalled, kTimedOut, kStdoutTooLarge, kNotFound };
  End end = End::kExited;
  int code = 0;  // the exit code, or the signal for kSignalled
  std::string out;
  std::string err;  // its first max_stderr_kept bytes
};

// kNotFound when no such executable exists (callers turn it into advice); an Error when the
// program could not be started for another reason (permissions, no pipes left...).
Result<ProcessOutcome> runProcess(const ProcessSpec& spec);

}  // namespace kw
