#include "server/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "kw/wasm/engine.h"

namespace kw::server {
namespace {

// A boolean flag with upstream's presence semantics: set on the command line, or its
// environment variable set to any non-empty value (even "0"), enables it. It has no target
// variable so CLI11 never tries to read the environment value as a boolean.
struct PresenceFlag {
  CLI::Option* option;
  bool* target;
  std::shared_ptr<std::string> value;  // what followed the flag or sat in its variable, if any
};

bool looksFalse(std::string value) {
  for (char& ch : value) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return value == "false" || value == "0" || value == "no" || value == "off";
}

class FlagSet {
 public:
  explicit FlagSet(CLI::App& app) : app_(app) {}

  // On when given, with or without a value: upstream's clap arguments take one (`--daemon true`)
  // and read only their presence, so even `false` turns them on. We do the same, and say so.
  void presence(const std::string& name, const std::string& env, bool& target,
                const std::string& help) {
    auto value = std::make_shared<std::string>();
    CLI::Option* o = app_.add_option(name, *value, help)->envname(env)->expected(0, 1);
    flags_.push_back({o, &target, value});
  }

  // An option whose absence means "not configured", not an empty string.
  void optional(const std::string& name, const std::string& env, std::optional<std::string>& target,
                const std::string& help) {
    auto holder = std::make_shared<std::string>();
    CLI::Option* o = app_.add_option(name, *holder, help)->envname(env);
    optionals_.push_back({o, holder, &target});
  }

  void finish(std::vector<std::string>& warnings) {
    for (auto& f : flags_) {
      *f.target = f.option->count() > 0;
      if (*f.target && looksFalse(*f.value)) {
        warnings.push_back(fmt::format(
            "{} was given `{}`, which turns it on, as upstream's policy-server does; leave it "
            "out (and unset {}) to turn it off",
            f.option->get_name(), *f.value, f.option->get_envname()));
      }
    }
    for (auto& o : optionals_) {
      if (o.option->count() > 0) *o.target = *o.value;
    }
  }

 private:
  struct Optional {
    CLI::Option* option;
    std::shared_ptr<std::string> value;
    std::optional<std::string>* target;
  };
  CLI::App& app_;
  std::vector<PresenceFlag> flags_;
  std::vector<Optional> optionals_;
};

unsigned defaultWorkers() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

Status checkConsistency(const ServerConfig& c) {
  if (c.cert_file.empty() != c.key_file.empty()) {
    return makeError("either both --cert-file and --key-file must be provided, or neither");
  }
  if (!c.client_ca_file.empty() && c.cert_file.empty()) {
    return makeError("--client-ca-file requires --cert-file and --key-file");
  }
  if (c.workers == 0) return makeError("--workers must be at least 1");
  if (!std::isfinite(c.policy_timeout_seconds) || c.policy_timeout_seconds <= 0) {
    return makeError("--policy-timeout must be a positive number of seconds");
  }
  if (c.max_body_bytes == 0) return makeError("--max-body-bytes must be at least 1");
  return okStatus();
}

void addLogFlags(CLI::App& app, ServerConfig& c, std::string& log_fmt) {
  app.add_option("--log-level", c.log_level, "Log level")
      ->envname("KUBEWARDEN_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log-fmt", log_fmt, "Log output format: text, json or otlp")
      ->envname("KUBEWARDEN_LOG_FMT")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v == "text" || v == "json" || v == "otlp") return {};
            return "must be text, json or otlp, got `" + v + "`";
          },
          "text|json|otlp"))
      ->capture_default_str();
}

void addListenerFlags(CLI::App& app, ServerConfig& c) {
  app.add_option("--addr", c.addr, "Bind against ADDRESS")
      ->envname("KUBEWARDEN_BIND_ADDRESS")
      ->capture_default_str();
  app.add_option("--port", c.port, "Listen on PORT")
      ->envname("KUBEWARDEN_PORT")
      ->capture_default_str();
  app.add_option("--cert-file", c.cert_file, "Path to an X.509 certificate file for HTTPS")
      ->envname("KUBEWARDEN_CERT_FILE");
  app.add_option("--key-file", c.key_file, "Path to an X.509 private key file for HTTPS")
      ->envname("KUBEWARDEN_KEY_FILE");
  app.add_option("--client-ca-file", c.client_ca_file,
                 "PEM CA bundle: require client certificates signed by it (mTLS)")
      ->envname("KUBEWARDEN_CLIENT_CA_FILE");
  app.add_option("--max-body-bytes", c.max_body_bytes, "Largest request body accepted")
      ->envname("KUBEWARDEN_MAX_BODY_BYTES")
      ->capture_default_str();
  app.add_option("--metrics-port", c.metrics_port,
                 "Port of the plain-HTTP /metrics listener (with --enable-metrics)")
      ->envname("KUBEWARDEN_METRICS_PORT")
      ->capture_default_str();
}

void addEvaluationFlags(CLI::App& app, FlagSet& flags, ServerConfig& c) {
  app.add_option("--workers", c.workers, "Number of evaluation threads (default: CPU count)")
      ->envname("KUBEWARDEN_WORKERS");
  app.add_option("--policy-timeout", c.policy_timeout_seconds,
                 "Interrupt policy evaluations running longer than this many seconds")
      ->envname("KUBEWARDEN_POLICY_TIMEOUT")
      ->capture_default_str();
  flags.presence("--disable-timeout-protection", "KUBEWARDEN_DISABLE_TIMEOUT_PROTECTION",
                 c.disable_timeout_protection, "Let policy evaluations run without a deadline");
  app.add_option("--engine", c.engine,
                 fmt::format("WebAssembly engine: {}", fmt::join(wasm::engineNames(), " or ")))
      ->envname("KUBEWARDEN_ENGINE")
      ->check(CLI::IsMember(wasm::engineNames()))
      ->capture_default_str();
  flags.optional("--always-accept-admission-reviews-on-namespace",
                 "KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE",
                 c.always_accept_admission_reviews_on_namespace,
                 "Always accept AdmissionReviews that target this namespace");
}

void addPolicyFlags(CLI::App& app, FlagSet& flags, ServerConfig& c) {
  app.add_option("--policies", c.policies, "YAML file holding the policies to be loaded")
      ->envname("KUBEWARDEN_POLICIES")
      ->capture_default_str();
  app.add_option("--policies-download-dir", c.policies_download_dir,
                 "Download path for the policies")
      ->envname("KUBEWARDEN_POLICIES_DOWNLOAD_DIR")
      ->capture_default_str();
  app.add_option("--sigstore-cache-dir", c.sigstore_cache_dir,
                 "Directory used to cache sigstore data")
      ->envname("KUBEWARDEN_SIGSTORE_CACHE_DIR")
      ->capture_default_str();
  flags.optional("--sources-path", "KUBEWARDEN_SOURCES_PATH", c.sources_path,
                 "YAML file holding source information (https, registry insecure hosts, ...)");
  flags.optional("--verification-path", "KUBEWARDEN_VERIFICATION_CONFIG_PATH", c.verification_path,
                 "YAML file holding verification information");
  flags.optional("--docker-config-json-path", "KUBEWARDEN_DOCKER_CONFIG_JSON_PATH",
                 c.docker_config_json_path,
                 "Directory holding a Docker config.json with registry credentials");
  flags.presence("--enable-verification", "KUBEWARDEN_ENABLE_VERIFICATION", c.enable_verification,
                 "Enable Sigstore verification");
  flags.presence("--enable-metrics", "KUBEWARDEN_ENABLE_METRICS", c.enable_metrics,
                 "Enable metrics");
  flags.presence("--ignore-kubernetes-connection-failure",
                 "KUBEWARDEN_IGNORE_KUBERNETES_CONNECTION_FAILURE",
                 c.ignore_kubernetes_connection_failure,
                 "Do not exit when the Kubernetes API cannot be reached");
}

void addDaemonFlags(CLI::App& app, FlagSet& flags, ServerConfig& c) {
  flags.presence("--daemon", "KUBEWARDEN_DAEMON", c.daemon,
                 "If set, runs policy-server in "
                 "detached mode as a daemon");
  app.add_option("--daemon-pid-file", c.daemon_pid_file, "Path to the PID file")
      ->envname("KUBEWARDEN_DAEMON_PID_FILE")
      ->capture_default_str();
  flags.optional("--daemon-stdout-file", "KUBEWARDEN_DAEMON_STDOUT_FILE", c.daemon_stdout_file,
                 "Path to the file holding stdout, used in daemon mode");
  flags.optional("--daemon-stderr-file", "KUBEWARDEN_DAEMON_STDERR_FILE", c.daemon_stderr_file,
                 "Path to the file holding stderr, used in daemon mode");
}

void addOverloadFlags(CLI::App& app, ServerConfig& c) {
  app.add_option("--max-queued-evaluations", c.max_queued_evaluations,
                 "Requests that may wait for a worker; more are answered 503 at once")
      ->envname("KUBEWARDEN_MAX_QUEUED_EVALUATIONS")
      ->capture_default_str();
  app.add_option("--max-workers-per-policy", c.max_workers_per_policy,
                 "Workers one policy may use at once (default: half of --workers, rounded up)")
      ->envname("KUBEWARDEN_MAX_WORKERS_PER_POLICY");
  app.add_option("--http-threads", c.http_threads,
                 "Threads serving HTTP and TLS; evaluations run on --workers")
      ->envname("KUBEWARDEN_HTTP_THREADS")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
}

Status checkOverloadFlags(const ServerConfig& c) {
  if (c.max_queued_evaluations == 0)
    return makeError("--max-queued-evaluations must be at least 1");
  if (c.max_workers_per_policy > c.workers) {
    return makeError(fmt::format("--max-workers-per-policy ({}) cannot exceed --workers ({})",
                                 c.max_workers_per_policy, c.workers));
  }
  return okStatus();
}

}  // namespace

std::optional<std::chrono::nanoseconds> ServerConfig::policyTimeout() const {
  if (disable_timeout_protection) return std::nullopt;
  // Rounded to the nanosecond, so "0.25" means exactly 250 ms (no whole-second epochs here).
  return std::chrono::nanoseconds(std::llround(policy_timeout_seconds * 1e9));
}

Result<ServerConfig> parseConfig(int argc, const char* const* argv, bool* usage_error) {
  if (usage_error) *usage_error = false;
  ServerConfig c;
  c.workers = defaultWorkers();
  CLI::App app(
      "Kubewarden policy-server: validates Kubernetes admission requests with "
      "WebAssembly policies",
      "policy-server");
  FlagSet flags(app);
  std::string log_fmt = "text";
  addLogFlags(app, c, log_fmt);
  flags.presence("--log-no-color", "NO_COLOR", c.log_no_color, "Disable coloured output");
  addListenerFlags(app, c);
  addEvaluationFlags(app, flags, c);
  addPolicyFlags(app, flags, c);
  addDaemonFlags(app, flags, c);
  addOverloadFlags(app, c);
  app.add_flag("--version", c.show_version,
               "Print the version and the implemented OPA builtins, and exit");
  app.add_flag("-V", c.show_short_version, "Print the version and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    c.show_help = true;
    c.help_text = app.help();
    return c;
  } catch (const CLI::ParseError& e) {
    if (usage_error) *usage_error = true;
    return makeError(e.what());
  }
  flags.finish(c.warnings);
  c.log_fmt = log_fmt == "json"   ? LogFormat::Json
              : log_fmt == "otlp" ? LogFormat::Otlp
                                  : LogFormat::Text;
  if (c.show_version || c.show_short_version) return c;
  if (auto ok = checkConsistency(c); !ok) return ok.error();
  if (auto ok = checkOverloadFlags(c); !ok) return ok.error();
  return c;
}

}  // namespace kw::server
