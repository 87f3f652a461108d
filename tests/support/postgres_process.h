// A throwaway PostgreSQL server for the SQL store tests: Debian's postgresql-15 binaries, a
// data directory made by initdb in a temp dir, 127.0.0.1 on a free port and its unix socket in
// that temp dir. As root (the usual case here) the server runs as the `postgres` user, since
// PostgreSQL refuses to run as root. Stopped and deleted by the destructor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kw::test {

class PostgresProcess {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  PostgresProcess();
  ~PostgresProcess();
  PostgresProcess(const PostgresProcess&) = delete;
  PostgresProcess& operator=(const PostgresProcess&) = delete;

  // Empty when a server can be started here; otherwise why not (binaries or user missing).
  static std::string unavailableReason();
  // True once the server accepted a connection; otherwise error() says why (with its log).
  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  std::string log() const;
  void stop();

  uint16_t port() const { return port_; }
  std::filesystem::path socketDir() const { return dir_ / "sock"; }
  // A libpq key=value connection string for database `db` over the unix socket.
  std::string url(const std::string& db = "postgres") const;
  // Creates database `name` (dropping an older one of that name); its url(), or "" and error().
  std::string createDatabase(const std::string& name);

 private:
  // Runs `args` as the server's user, stdout and stderr appended to `log`; the child's pid.
  pid_t spawnAsServerUser(const std::vector<std::string>& args,
                          const std::filesystem::path& log) const;
  bool initdb();

  std::filesystem::path dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
  std::string error_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool switch_user_ = false;
};

// One server per test binary (initdb takes seconds), started on first use and stopped at exit.
// Null when PostgreSQL is not installed, unless CI=true: then the caller gets a server whose
// error() says why, and fails.
PostgresProcess* sharedPostgres();

}  // namespace kw::test
