#include "cluster/harness_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace kw::cluster {
namespace {

// In the child between fork and exec: only async-signal-safe calls.
// `env`: null to inherit ours. `cwd`: null to keep ours.
[[noreturn]] void execWithOutput(const std::vector<std::string>& args, const char* log, int flags,
                                 char* const* env = nullptr, const char* cwd = nullptr) {
  int in = ::open("/dev/null", O_RDONLY);
  int out = ::open(log, O_WRONLY | O_CREAT | flags, 0644);
  if (in < 0 || out < 0) ::_exit(126);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  // Drop every other inherited descriptor (a CTest pipe would keep CTest waiting).
  ::close_range(3, ~0U, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // A parent that blocks signals for a sigwait thread (the kubelet stand-in) would pass its
  // mask on, and the daemon would ignore our SIGTERM.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (cwd != nullptr && ::chdir(cwd) != 0) ::_exit(126);
  if (env != nullptr) {
    ::execve(argv[0], argv.data(), env);
    ::_exit(127);
  }
  ::execvp(argv[0], argv.data());  // PATH lookup for openssl
  ::_exit(127);
}

}  // namespace

pid_t spawnDaemon(const std::vector<std::string>& args, const std::filesystem::path& log) {
  std::string log_path = log.string();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    execWithOutput(args, log_path.c_str(), O_TRUNC);
  }
  return pid;
}

pid_t spawnDaemon(const std::vector<std::string>& args, const std::filesystem::path& log,
                  const std::vector<std::string>& env, const std::filesystem::path& cwd) {
  // Everything the child needs is built before fork: it may only make async-signal-safe calls.
  std::string log_path = log.string(), cwd_path = cwd.string();
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    execWithOutput(args, log_path.c_str(), O_TRUNC, envp.data(), cwd_path.c_str());
  }
  return pid;
}

int runLogged(const std::vector<std::string>& args, const std::filesystem::path& log) {
  std::string log_path = log.string();
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) execWithOutput(args, log_path.c_str(), O_APPEND);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool processAlive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  auto paren = content.rfind(')');
  return paren == std::string::npos || paren + 2 >= content.size() || content[paren + 2] != 'Z';
}

bool childExited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

bool processRuns(pid_t pid, const std::string& binary) {
  if (!processAlive(pid)) return false;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(cmdline, argv0, '\0');
  return argv0 == binary;
}

bool terminate(pid_t pid, std::chrono::milliseconds grace) {
  if (!processAlive(pid)) return true;
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    childExited(pid);  // reaps it if it is our child; no-op otherwise
    if (!processAlive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  while (processAlive(pid)) {
    childExited(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<uint16_t> freePorts(int count) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) ::close(fd);
      break;
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

std::string tailOf(const std::filesystem::path& file, size_t bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "(no " + file.string() + ")";
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  in.seekg(size > bytes ? static_cast<std::streamoff>(size - bytes) : 0);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kw::cluster
