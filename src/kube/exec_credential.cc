#include "kube/exec_credential.h"

#include <fmt/format.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/rfc3339.h"
#include "common/subprocess.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;

// Enough of the plugin's stderr to see its complaint without flooding a log line.
constexpr size_t kStderrShown = 1024;

std::string who(const ExecConfig& exec) {
  return fmt::format("exec plugin \"{}\" of kubeconfig user \"{}\"", exec.command, exec.user);
}

std::string field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string shownStderr(std::string err) {
  while (!err.empty() && std::isspace(static_cast<unsigned char>(err.back()))) err.pop_back();
  if (err.empty()) return " (nothing on stderr)";
  if (err.size() <= kStderrShown) return ": " + err;
  return fmt::format(": {}... ({} more bytes)", err.substr(0, kStderrShown),
                     err.size() - kStderrShown);
}

Status checkCertificate(ExecCredential& cred, const std::string& who) {
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty())
    return makeError(who + (cred.client_key_pem.empty()
                                ? " returned status.clientCertificateData without clientKeyData"
                                : " returned status.clientKeyData without clientCertificateData"));
  if (cred.token.empty() && cred.client_cert_pem.empty())
    return makeError(who +
                     " returned neither status.token nor status.clientCertificateData and "
                     "status.clientKeyData");
  if (!cred.client_cert_pem.empty() &&
      (cred.client_cert_pem.find("-----BEGIN") == std::string::npos ||
       cred.client_key_pem.find("-----BEGIN") == std::string::npos))
    return makeError(who + " returned a client certificate or key that is not PEM");
  return okStatus();
}

Status readExpiry(const json& status, ExecCredential& cred, const std::string& who) {
  auto it = status.find("expirationTimestamp");
  if (it == status.end() || it->is_null()) return okStatus();
  std::string text = it->is_string() ? it->get<std::string>() : it->dump();
  // A metav1.Time: Go's RFC 3339.
  auto t = it->is_string() ? parseRfc3339(text) : Result<Timestamp>(makeError("not a string"));
  if (!t)
    return makeError(who + " returned status.expirationTimestamp " + text +
                     ", which is not an RFC 3339 time");
  // system_clock counts nanoseconds in 64 bits, which ends in 2262; a later (or pre-1678)
  // expiry would overflow converting it, so it is held at the clock's last (first) instant.
  using std::chrono::system_clock;
  constexpr auto kLast = std::chrono::floor<std::chrono::seconds>(system_clock::time_point::max());
  constexpr auto kFirst = std::chrono::ceil<std::chrono::seconds>(system_clock::time_point::min());
  if (t->seconds >= kLast.time_since_epoch().count()) {
    cred.expires = system_clock::time_point::max();
  } else if (t->seconds <= kFirst.time_since_epoch().count()) {
    cred.expires = system_clock::time_point::min();
  } else {
    cred.expires = system_clock::time_point(std::chrono::seconds(t->seconds));
  }
  return okStatus();
}

}  // namespace

std::string execInfo(const ExecConfig& exec) {
  json spec = {{"interactive", false}};
  if (!exec.cluster_info_json.empty()) spec["cluster"] = json::parse(exec.cluster_info_json);
  json info = {{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}};
  return info.dump();
}

Result<ExecCredential> parseExecCredential(std::string_view out, const ExecConfig& exec) {
  const std::string name = who(exec);
  json doc = json::parse(out, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return makeError(name + " did not print an ExecCredential JSON object on stdout");
  std::string api_version = field(doc, "apiVersion");
  if (api_version != exec.api_version)
    return makeError(fmt::format("{} answered with apiVersion \"{}\", but {} was asked for", name,
                                 api_version, exec.api_version));
  if (std::string kind = field(doc, "kind"); kind != "ExecCredential")
    return makeError(name + " answered with kind \"" + kind + "\", not ExecCredential");
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_object())
    return makeError(name + " returned an ExecCredential without status");
  ExecCredential cred;
  cred.token = field(*status, "token");
  cred.client_cert_pem = field(*status, "clientCertificateData");
  cred.client_key_pem = field(*status, "clientKeyData");
  if (auto s = checkCertificate(cred, name); !s) return s.error();
  if (auto s = readExpiry(*status, cred, name); !s) return s.error();
  return cred;
}

Result<ExecCredential> runExecPlugin(const ExecConfig& exec, std::chrono::milliseconds timeout) {
  ProcessSpec spec;
  spec.program = exec.command;
  spec.args = exec.args;
  spec.env = exec.env;
  spec.env.emplace_back("KUBERNETES_EXEC_INFO", execInfo(exec));
  spec.timeout = timeout;
  auto run = runProcess(spec);
  const std::string name = who(exec);
  if (!run) return makeError(name + ": " + run.error().message);
  using End = ProcessOutcome::End;
  switch (run->end) {
    case End::kNotFound:
      return makeError(name + " was not found" +
                       (exec.install_hint.empty() ? " (is it installed and in PATH?)"
                                                  : "; " + exec.install_hint));
    case End::kTimedOut:
      return makeError(
          fmt::format("{} did not finish within {} ms and was killed", name, timeout.count()));
    case End::kStdoutTooLarge:
      return makeError(
          fmt::format("{} printed more than {} bytes and was killed", name, spec.max_stdout));
    case End::kSignalled:
      return makeError(fmt::format("{} was killed by signal {}{}", name, run->code,
                                   shownStderr(std::move(run->err))));
    case End::kExited:
      break;
  }
  if (run->code != 0)
    return makeError(
        fmt::format("{} exited with code {}{}", name, run->code, shownStderr(std::move(run->err))));
  return parseExecCredential(run->out, exec);
}

ExecCredentialSource::ExecCredentialSource(ExecConfig exec, Now now)
    : exec_(std::move(exec)), now_(std::move(now)) {}

Result<std::shared_ptr<const ExecCredential>> ExecCredentialSource::get() {
  std::lock_guard lock(mu_);
  if (cached_ && (!cached_->expires || now_() < *cached_->expires)) return cached_;
  auto fresh = runExecPlugin(exec_);
  if (!fresh) return fresh.error();
  cached_ = std::make_shared<const ExecCredential>(std::move(*fresh));
  return cached_;
}

void ExecCredentialSource::invalidate(const std::shared_ptr<const ExecCredential>& used) {
  std::lock_guard lock(mu_);
  if (cached_ == used) cached_.reset();
}

}  // namespace kw::kube
