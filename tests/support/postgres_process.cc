#include "support/postgres_process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "reports/sql_driver.h"
#include "support/cluster_env.h"
#include "support/server_process.h"

namespace kw::test {
namespace fs = std::filesystem;
namespace {

fs::path makeTempDir() {
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() /
                 ("kw-postgres-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  fs::remove_all(dir);
  fs::create_directories(dir / "sock");
  return dir;
}

std::string binary(const char* name) {
  return std::string(PostgresProcess::kBinDir) + "/" + name;
}

bool waitExit(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  return waitFor([&] { return ::waitpid(pid, status, WNOHANG) == pid; }, timeout);
}

}  // namespace

PostgresProcess* sharedPostgres() {
  static std::unique_ptr<PostgresProcess> server = []() -> std::unique_ptr<PostgresProcess> {
    const char* ci = std::getenv("CI");
    bool required = ci && std::string(ci) == "true";
    if (!PostgresProcess::unavailableReason().empty() && !required) return nullptr;
    return std::make_unique<PostgresProcess>();
  }();
  return server.get();
}

std::string PostgresProcess::unavailableReason() {
  for (const char* b : {"initdb", "postgres"})
    if (::access(binary(b).c_str(), X_OK) != 0)
      return binary(b) + " is missing (apt-get install postgresql)";
  if (::geteuid() == 0 && !::getpwnam("postgres"))
    return "running as root but there is no `postgres` user to run the server as";
  return {};
}

PostgresProcess::PostgresProcess() : dir_(makeTempDir()), port_(freePort()) {
  if (std::string why = unavailableReason(); !why.empty()) {
    error_ = why;
    return;
  }
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    switch_user_ = true;
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    for (const fs::path& p : {dir_, dir_ / "sock"})
      if (::chown(p.c_str(), uid_, gid_) != 0) {
        error_ = "cannot give " + p.string() + " to the postgres user";
        return;
      }
  }
  if (!initdb()) return;
  pid_ = spawnAsServerUser(
      {binary("postgres"), "-D", (dir_ / "data").string(), "-p", std::to_string(port_), "-k",
       socketDir().string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
       "full_page_writes=off", "-c", "max_connections=40"},
      dir_ / "postgres.log");
  // Ready once a real connection succeeds (the socket appears before it accepts queries).
  ready_ = waitFor(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;  // died: stop polling, reported below
        }
        return reports::openPostgres(url()).ok();
      },
      std::chrono::seconds(60));
  if (pid_ < 0) ready_ = false;
  if (!ready_)
    error_ = "postgres did not accept connections on port " + std::to_string(port_) + ": " + log();
}

PostgresProcess::~PostgresProcess() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool PostgresProcess::initdb() {
  pid_t pid = spawnAsServerUser({binary("initdb"), "-D", (dir_ / "data").string(), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--no-sync"},
                                dir_ / "initdb.log");
  int status = 0;
  if (pid < 0 || !waitExit(pid, std::chrono::seconds(120), &status) || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::ifstream in(dir_ / "initdb.log");
    std::stringstream ss;
    ss << in.rdbuf();
    error_ = "initdb failed: " + ss.str();
    return false;
  }
  return true;
}

pid_t PostgresProcess::spawnAsServerUser(const std::vector<std::string>& args,
                                         const fs::path& log) const {
  std::string log_path = log.string();
  std::vector<std::string> copy = args;
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (switch_user_ &&
        (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0))
      ::_exit(126);
    // A test binary that crashes must not leave a server behind: SIGINT (fast shutdown) when
    // it dies. Set after setuid, which would clear it.
    ::prctl(PR_SET_PDEATHSIG, SIGINT);
    ::setsid();  // its own session: a terminal's ^C goes to the test, which stops it
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

void PostgresProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);  // "fast" shutdown: ends sessions, no waiting for clients
  int status = 0;
  if (!waitExit(pid_, std::chrono::seconds(20), &status)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

std::string PostgresProcess::log() const {
  std::ifstream in(dir_ / "postgres.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PostgresProcess::url(const std::string& db) const {
  return "host=" + socketDir().string() + " port=" + std::to_string(port_) +
         " user=postgres dbname=" + db + " connect_timeout=10";
}

std::string PostgresProcess::createDatabase(const std::string& name) {
  auto admin = reports::openPostgres(url());
  if (!admin) {
    error_ = admin.error().message;
    return {};
  }
  for (const std::string& sql :
       {"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name}) {
    if (auto s = (*admin)->exec(sql); !s) {
      error_ = s.error().message;
      return {};
    }
  }
  return url(name);
}

}  // namespace kw::test
