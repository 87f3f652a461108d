#include "common/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace kw {
namespace {

using Clock = std::chrono::steady_clock;

// The inherited environment with spec.env laid over it, as "NAME=value" strings.
std::vector<std::string> childEnvironment(const ProcessSpec& spec) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = std::any_of(spec.env.begin(), spec.env.end(),
                                [&](const auto& kv) { return kv.first == name; });
    if (!replaced) out.emplace_back(entry);
  }
  // A name given twice in spec.env: the later value wins, as it would with setenv.
  for (size_t i = 0; i < spec.env.size(); ++i) {
    const std::string& name = spec.env[i].first;
    bool overridden = std::any_of(spec.env.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                  spec.env.end(), [&](const auto& kv) { return kv.first == name; });
    if (!overridden) out.push_back(name + "=" + spec.env[i].second);
  }
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Owns the two read ends so every early return closes them.
struct Spawned {
  int out = -1;
  int err = -1;
  ~Spawned() {
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
  }
};

// Starts the child with stdout/stderr on fresh pipes; its pid, or -errno.
pid_t spawn(const ProcessSpec& spec, Spawned& pipes) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return -errno;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    return -e;
  }
  pipes.out = out[0];
  pipes.err = err[0];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills what it started too; signals as a fresh process
  // (a server that ignores SIGPIPE must not pass that on).
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  std::vector<std::string> argv_s{spec.program};
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  std::vector<std::string> env_s = childEnvironment(spec);
  auto argv = pointers(argv_s);
  auto envp = pointers(env_s);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, spec.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  return rc == 0 ? pid : -rc;
}

// Reads both pipes until they close, the deadline passes or stdout overflows; the child is
// killed (with its group) in the last two cases.
void collect(const ProcessSpec& spec, pid_t pid, Spawned& pipes, ProcessOutcome& outcome) {
  auto deadline = Clock::now() + spec.timeout;
  char buf[16 * 1024];
  while (pipes.out >= 0 || pipes.err >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      outcome.end = ProcessOutcome::End::kTimedOut;
      break;
    }
    pollfd fds[2] = {{pipes.out, POLLIN, 0}, {pipes.err, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      int& fd = i == 0 ? pipes.out : pipes.err;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        ::close(fd);
        fd = -1;
        continue;
      }
      if (i == 0) {
        outcome.out.append(buf, static_cast<size_t>(got));
      } else {
        size_t room = spec.max_stderr_kept - std::min(spec.max_stderr_kept, outcome.err.size());
        outcome.err.append(buf, std::min(room, static_cast<size_t>(got)));
      }
    }
    if (outcome.out.size() > spec.max_stdout) {
      outcome.end = ProcessOutcome::End::kStdoutTooLarge;
      break;
    }
  }
  if (outcome.end != ProcessOutcome::End::kExited) ::kill(-pid, SIGKILL);
}

}  // namespace

Result<ProcessOutcome> runProcess(const ProcessSpec& spec) {
  Spawned pipes;
  pid_t pid = spawn(spec, pipes);
  ProcessOutcome outcome;
  if (pid == -ENOENT) {
    outcome.end = ProcessOutcome::End::kNotFound;
    return outcome;
  }
  if (pid < 0)
    return makeError(fmt::format("cannot run {}: {}", spec.program, std::strerror(-pid)));
  collect(spec, pid, pipes, outcome);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (outcome.end != ProcessOutcome::End::kExited) return outcome;
  if (WIFSIGNALED(status)) {
    outcome.end = ProcessOutcome::End::kSignalled;
    outcome.code = WTERMSIG(status);
  } else {
    outcome.code = WEXITSTATUS(status);
  }
  return outcome;
}

}  // namespace kw
