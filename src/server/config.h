// The policy-server's command line: upstream's flags with the same names, defaults and
// KUBEWARDEN_* environment variables (spec §1.1), plus our extras (metrics port, client CA,
// body size cap). A flag given on the command line wins over its environment variable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "kw/wasm/engine.h"

namespace kw::server {

// The version we claim to be for metadata `minimumKubewardenVersion` checks (§1.2 step 6).
constexpr std::string_view kKubewardenVersion = "1.10.0";

// Otlp is what upstream's controller sets when tracing is on: upstream then exports spans over
// OTLP and still prints text logs. We print the text logs and say, once, that spans are not
// exported yet.
enum class LogFormat { Text, Json, Otlp };

struct ServerConfig {
  // Logging.
  std::string log_level = "info";  // trace|debug|info|warn|error
  LogFormat log_fmt = LogFormat::Text;
  // Said once logging is set up: settings that work, but not as their spelling suggests.
  std::vector<std::string> warnings;
  bool log_no_color = false;  // upstream inverts this flag (a bug); we do not

  // Listener.
  std::string addr = "0.0.0.0";
  uint16_t port = 3000;
  std::string cert_file;  // TLS on iff both cert_file and key_file are set
  std::string key_file;
  std::string client_ca_file;            // extra: require client certificates signed by this CA
  uint64_t max_body_bytes = 8ull << 20;  // extra: larger bodies get 413
  // extra: the port of a separate plain-HTTP /metrics listener (upstream's collector port).
  uint16_t metrics_port = 8080;

  // Evaluation.
  unsigned workers = 1;  // default: std::thread::hardware_concurrency()
  double policy_timeout_seconds = 2;
  bool disable_timeout_protection = false;
  // extra: the WebAssembly engine (--engine / KUBEWARDEN_ENGINE); the build's default first.
  std::string engine = wasm::engineNames().front();
  std::optional<std::string> always_accept_admission_reviews_on_namespace;

  // Policies and where they come from.
  std::string policies = "policies.yml";
  std::string policies_download_dir = ".";
  std::string sigstore_cache_dir = "sigstore-data";
  std::optional<std::string> sources_path;
  std::optional<std::string> verification_path;
  std::optional<std::string> docker_config_json_path;
  // Verification is on whenever `verification_path` is set, as upstream; this flag alone only
  // earns an error (upstream ignores it, which would leave verification silently off).
  bool enable_verification = false;
  bool enable_metrics = false;
  bool ignore_kubernetes_connection_failure = false;

  // Daemon mode.
  bool daemon = false;
  std::string daemon_pid_file = "policy-server.pid";
  std::optional<std::string> daemon_stdout_file;
  std::optional<std::string> daemon_stderr_file;

  // Overload protection (extras, issue #15).
  uint64_t max_queued_evaluations = 1024;  // requests waiting for a worker; more get 503
  unsigned max_workers_per_policy = 0;     // 0: half the workers, rounded up
  unsigned http_threads = 1;               // network threads (HTTP parsing, TLS)

  // Handled by the caller: print and exit 0 without starting anything. As clap does upstream,
  // -V prints the version alone and --version adds the OPA builtins.
  bool show_version = false;
  bool show_short_version = false;
  bool show_help = false;
  std::string help_text;  // set when show_help

  bool tlsEnabled() const { return !cert_file.empty(); }
  // The per-evaluation deadline; nullopt when timeout protection is disabled.
  std::optional<std::chrono::nanoseconds> policyTimeout() const;
};

// Parses argv (argv[0] is the program name) and the KUBEWARDEN_* environment. Errors carry
// CLI11's message or ours, ready to print after "Error: ". `usage_error`, when given, tells a
// malformed command line (unknown flag, missing or unparsable value: the caller exits 2, as
// upstream's clap does) from a well-formed one whose values do not fit together (exit 1).
Result<ServerConfig> parseConfig(int argc, const char* const* argv, bool* usage_error = nullptr);

}  // namespace kw::server
