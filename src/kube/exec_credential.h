// kubeconfig exec credential plugins (client.authentication.k8s.io v1 and v1beta1): the
// program runs with KUBERNETES_EXEC_INFO describing the request and prints an ExecCredential
// holding a bearer token and/or a client certificate, optionally with an expiry. The client
// asks an ExecCredentialSource for the credential on every request; it runs the plugin only
// when nothing valid is cached.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "kube/config.h"

namespace kw::kube {

struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  // Unset: valid for the process lifetime (as kubectl treats a credential without expiry).
  std::optional<std::chrono::system_clock::time_point> expires;
};

// The KUBERNETES_EXEC_INFO value: an ExecCredential with `spec.interactive: false` and, for
// provideClusterInfo, `spec.cluster`.
std::string execInfo(const ExecConfig& exec);

// Reads the plugin's stdout; errors name `command`.
Result<ExecCredential> parseExecCredential(std::string_view out, const ExecConfig& exec);

// Runs the plugin once, bounded by `timeout`, and parses its answer. Errors say what went
// wrong: not found (with the installHint), exit code and stderr, timeout, invalid output.
Result<ExecCredential> runExecPlugin(const ExecConfig& exec,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The cached credential of one kubeconfig user, shared by every thread of a client.
class ExecCredentialSource {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;
  explicit ExecCredentialSource(ExecConfig exec, Now now = std::chrono::system_clock::now);

  // The cached credential while it is valid, else a fresh one. One plugin run at a time: a
  // thread arriving while it runs waits and gets its result.
  Result<std::shared_ptr<const ExecCredential>> get();
  // After a 401 with `used`: forget it, unless another thread already replaced it.
  void invalidate(const std::shared_ptr<const ExecCredential>& used);

 private:
  ExecConfig exec_;
  Now now_;
  std::mutex mu_;  // also held while the plugin runs
  std::shared_ptr<const ExecCredential> cached_;
};

}  // namespace kw::kube
