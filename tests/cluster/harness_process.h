// Process plumbing for the control-plane harness: detached daemons, one-shot commands, ports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kw::cluster {

// Starts a daemon in its own session with stdin from /dev/null and stdout+stderr to `log`.
// Its own session keeps it out of CTest's process group and off CTest's output pipes, so the
// setup test can exit while the daemon keeps serving the other tests. -1 if fork fails.
pid_t spawnDaemon(const std::vector<std::string>& args, const std::filesystem::path& log);
// The same with exactly the environment `env` ("KEY=value") and `cwd` as working directory:
// how the kubelet stand-in runs a container's process.
pid_t spawnDaemon(const std::vector<std::string>& args, const std::filesystem::path& log,
                  const std::vector<std::string>& env, const std::filesystem::path& cwd);

// Runs a command to completion, its output appended to `log`; its exit status (-1: not run).
int runLogged(const std::vector<std::string>& args, const std::filesystem::path& log);

// True while `pid` runs (a zombie counts as gone: a reaped-later child is already dead).
bool processAlive(pid_t pid);
// Our own child's exit, without blocking; true once it has exited (and reaps it).
bool childExited(pid_t pid);
// True if `pid` runs `binary` (its argv[0]), so a recycled pid is never signalled.
bool processRuns(pid_t pid, const std::string& binary);
// SIGTERM, then wait for it to go; SIGKILL after `grace`. True if it stopped on SIGTERM.
bool terminate(pid_t pid, std::chrono::milliseconds grace);

// `count` distinct free loopback ports (all held open together while choosing).
std::vector<uint16_t> freePorts(int count);

// The last `bytes` of a file, for error messages.
std::string tailOf(const std::filesystem::path& file, size_t bytes = 2000);

}  // namespace kw::cluster
