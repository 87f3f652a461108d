// End-to-end harness: starts the real policy-server binary on a free loopback port with a
// policies.yml written for the test, and speaks real HTTP or HTTPS to it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace kw::test {

struct HttpResult {
  int status = 0;  // 0: no answer (connection refused or dropped)
  std::string body;
  std::string content_type;
};

// A serving certificate and key for the policy-server's HTTPS listener.
struct TlsFiles {
  std::filesystem::path cert, key;
};

class ServerProcess {
 public:
  // `policies_yml` is written to a temp dir, also the download dir unless `extra_args` (appended
  // to the command line) name one.
  // With `tls`, the server serves HTTPS with `tls_files`, or with a fresh self-signed pair for
  // 127.0.0.1 when they are empty.
  ServerProcess(const std::string& policies_yml, std::vector<std::string> extra_args = {},
                bool tls = false, TlsFiles tls_files = {});
  ~ServerProcess();

  // Waits until /readiness answers 200, or the process exits, or the timeout passes.
  bool waitReady(int timeout_ms = 60000);
  // Sends SIGTERM and waits for the exit status (-1 if it had to be killed).
  int terminate(int timeout_ms = 20000);
  // Waits for the process to exit by itself (e.g. a boot failure); -1 on timeout.
  int waitExit(int timeout_ms = 60000);
  std::string log() const;  // what the server printed (stdout and stderr)

  HttpResult post(const std::string& path, const std::string& body,
                  const std::string& content_type = "application/json") const;
  HttpResult get(const std::string& path) const;
  // A plain-HTTP GET on another of the server's ports (its metrics port).
  HttpResult getOnPort(uint16_t port, const std::string& path) const;

  uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  HttpResult request(const std::string& method, const std::string& path, const std::string& body,
                     const std::string& content_type) const;

  std::filesystem::path dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool tls_ = false;
  int exit_status_ = -2;
};

uint16_t freePort();
// A self-signed certificate and key for 127.0.0.1 in `dir` (cert.pem, key.pem).
bool makeSelfSignedCert(const std::filesystem::path& dir);

}  // namespace kw::test
