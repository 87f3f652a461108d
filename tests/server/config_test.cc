// The policy-server command line (spec §1.1): upstream's names, defaults and KUBEWARDEN_*
// variables, presence semantics for booleans, flags winning over the environment, and the
// exact cert/key error.
#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "kw/wasm/engine.h"
#include "support/test_env.h"

namespace kw::server {
namespace {

// Every variable parseConfig reads, cleared around each test so the host's environment
// cannot leak in.
const char* const kEnvVars[] = {
    "KUBEWARDEN_LOG_LEVEL",
    "KUBEWARDEN_LOG_FMT",
    "NO_COLOR",
    "KUBEWARDEN_BIND_ADDRESS",
    "KUBEWARDEN_PORT",
    "KUBEWARDEN_WORKERS",
    "KUBEWARDEN_CERT_FILE",
    "KUBEWARDEN_KEY_FILE",
    "KUBEWARDEN_CLIENT_CA_FILE",
    "KUBEWARDEN_MAX_BODY_BYTES",
    "KUBEWARDEN_METRICS_PORT",
    "KUBEWARDEN_POLICIES",
    "KUBEWARDEN_POLICIES_DOWNLOAD_DIR",
    "KUBEWARDEN_SIGSTORE_CACHE_DIR",
    "KUBEWARDEN_SOURCES_PATH",
    "KUBEWARDEN_VERIFICATION_CONFIG_PATH",
    "KUBEWARDEN_DOCKER_CONFIG_JSON_PATH",
    "KUBEWARDEN_ENABLE_METRICS",
    "KUBEWARDEN_ENABLE_VERIFICATION",
    "KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE",
    "KUBEWARDEN_DISABLE_TIMEOUT_PROTECTION",
    "KUBEWARDEN_POLICY_TIMEOUT",
    "KUBEWARDEN_DAEMON",
    "KUBEWARDEN_DAEMON_PID_FILE",
    "KUBEWARDEN_DAEMON_STDOUT_FILE",
    "KUBEWARDEN_DAEMON_STDERR_FILE",
    "KUBEWARDEN_IGNORE_KUBERNETES_CONNECTION_FAILURE",
    "KUBEWARDEN_ENGINE",
};

constexpr char kCertKeyError[] =
    "either both --cert-file and --key-file must be provided, or neither";

class ServerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { clearEnv(); }
  void TearDown() override { clearEnv(); }

  static void clearEnv() {
    for (const char* v : kEnvVars) unsetenv(v);
  }

  static Result<ServerConfig> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "policy-server");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return parseConfig(int(argv.size()), argv.data());
  }

  static ServerConfig parseOk(std::vector<std::string> args) {
    auto c = parse(std::move(args));
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c ? *c : ServerConfig{};
  }
};

TEST_F(ServerConfigTest, Defaults) {
  ServerConfig c = parseOk({});
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_fmt, LogFormat::Text);
  EXPECT_FALSE(c.log_no_color);
  EXPECT_EQ(c.addr, "0.0.0.0");
  EXPECT_EQ(c.port, 3000);
  unsigned cpus = std::thread::hardware_concurrency();
  EXPECT_EQ(c.workers, cpus == 0 ? 1 : cpus);
  EXPECT_EQ(c.cert_file, "");
  EXPECT_EQ(c.key_file, "");
  EXPECT_FALSE(c.tlsEnabled());
  EXPECT_EQ(c.policies, "policies.yml");
  EXPECT_EQ(c.policies_download_dir, ".");
  EXPECT_EQ(c.sigstore_cache_dir, "sigstore-data");
  EXPECT_FALSE(c.sources_path);
  EXPECT_FALSE(c.verification_path);
  EXPECT_FALSE(c.docker_config_json_path);
  EXPECT_FALSE(c.always_accept_admission_reviews_on_namespace);
  EXPECT_FALSE(c.enable_metrics);
  EXPECT_FALSE(c.enable_verification);
  EXPECT_FALSE(c.disable_timeout_protection);
  EXPECT_FALSE(c.ignore_kubernetes_connection_failure);
  EXPECT_FALSE(c.daemon);
  EXPECT_EQ(c.daemon_pid_file, "policy-server.pid");
  EXPECT_FALSE(c.daemon_stdout_file);
  EXPECT_FALSE(c.daemon_stderr_file);
  EXPECT_DOUBLE_EQ(c.policy_timeout_seconds, 2);
  EXPECT_EQ(c.policyTimeout(), std::chrono::seconds(2));
  EXPECT_EQ(c.metrics_port, 8080);
  EXPECT_EQ(c.max_body_bytes, 8u << 20);
  EXPECT_EQ(c.engine, wasm::engineNames().front());
  EXPECT_FALSE(c.show_version);
  EXPECT_FALSE(c.show_help);
}

TEST_F(ServerConfigTest, EnvironmentVariables) {
  setenv("KUBEWARDEN_PORT", "8443", 1);
  setenv("KUBEWARDEN_BIND_ADDRESS", "127.0.0.1", 1);
  setenv("KUBEWARDEN_WORKERS", "3", 1);
  setenv("KUBEWARDEN_POLICIES", "/config/policies.yml", 1);
  setenv("KUBEWARDEN_POLICY_TIMEOUT", "0.25", 1);
  setenv("KUBEWARDEN_LOG_LEVEL", "debug", 1);
  setenv("KUBEWARDEN_LOG_FMT", "json", 1);
  setenv("KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE", "kube-system", 1);
  setenv("KUBEWARDEN_SOURCES_PATH", "/sources.yml", 1);
  setenv("KUBEWARDEN_VERIFICATION_CONFIG_PATH", "/verification.yml", 1);
  setenv("KUBEWARDEN_DOCKER_CONFIG_JSON_PATH", "/docker", 1);
  setenv("KUBEWARDEN_POLICIES_DOWNLOAD_DIR", "/store", 1);
  setenv("KUBEWARDEN_CERT_FILE", "/pki/cert.pem", 1);
  setenv("KUBEWARDEN_KEY_FILE", "/pki/key.pem", 1);
  setenv("KUBEWARDEN_DAEMON_PID_FILE", "/run/ps.pid", 1);
  ServerConfig c = parseOk({});
  EXPECT_EQ(c.port, 8443);
  EXPECT_EQ(c.addr, "127.0.0.1");
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.policies, "/config/policies.yml");
  EXPECT_EQ(c.policyTimeout(), std::chrono::milliseconds(250));  // decimals, exactly
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_fmt, LogFormat::Json);
  EXPECT_EQ(c.always_accept_admission_reviews_on_namespace, "kube-system");
  EXPECT_EQ(c.sources_path, "/sources.yml");
  EXPECT_EQ(c.verification_path, "/verification.yml");
  EXPECT_EQ(c.docker_config_json_path, "/docker");
  EXPECT_EQ(c.policies_download_dir, "/store");
  EXPECT_TRUE(c.tlsEnabled());
  EXPECT_EQ(c.cert_file, "/pki/cert.pem");
  EXPECT_EQ(c.key_file, "/pki/key.pem");
  EXPECT_EQ(c.daemon_pid_file, "/run/ps.pid");
}

TEST_F(ServerConfigTest, BooleanEnvironmentVariablesArePresenceFlags) {
  // Upstream checks presence only: even "0" and "false" enable the flag.
  setenv("KUBEWARDEN_DAEMON", "0", 1);
  setenv("KUBEWARDEN_ENABLE_METRICS", "false", 1);
  setenv("KUBEWARDEN_DISABLE_TIMEOUT_PROTECTION", "no", 1);
  setenv("KUBEWARDEN_IGNORE_KUBERNETES_CONNECTION_FAILURE", "whatever", 1);
  setenv("KUBEWARDEN_ENABLE_VERIFICATION", "1", 1);
  setenv("NO_COLOR", "0", 1);
  ServerConfig c = parseOk({});
  EXPECT_TRUE(c.daemon);
  EXPECT_TRUE(c.enable_metrics);
  EXPECT_TRUE(c.disable_timeout_protection);
  EXPECT_TRUE(c.ignore_kubernetes_connection_failure);
  EXPECT_TRUE(c.enable_verification);
  EXPECT_TRUE(c.log_no_color);
  EXPECT_EQ(c.policyTimeout(), std::nullopt);
}

TEST_F(ServerConfigTest, BooleanFlags) {
  ServerConfig c = parseOk({"--daemon", "--enable-metrics", "--disable-timeout-protection",
                            "--ignore-kubernetes-connection-failure", "--log-no-color",
                            "--enable-verification"});
  EXPECT_TRUE(c.daemon);
  EXPECT_TRUE(c.enable_metrics);
  EXPECT_TRUE(c.disable_timeout_protection);
  EXPECT_TRUE(c.ignore_kubernetes_connection_failure);
  EXPECT_TRUE(c.log_no_color);
  EXPECT_TRUE(c.enable_verification);
  EXPECT_EQ(c.policyTimeout(), std::nullopt);
}

TEST_F(ServerConfigTest, FlagsOverrideEnvironment) {
  setenv("KUBEWARDEN_PORT", "8443", 1);
  setenv("KUBEWARDEN_POLICY_TIMEOUT", "5", 1);
  setenv("KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE", "kube-system", 1);
  setenv("KUBEWARDEN_WORKERS", "7", 1);
  ServerConfig c =
      parseOk({"--port", "9000", "--policy-timeout=1.5",
               "--always-accept-admission-reviews-on-namespace", "other", "--workers", "2"});
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.policyTimeout(), std::chrono::milliseconds(1500));
  EXPECT_EQ(c.always_accept_admission_reviews_on_namespace, "other");
  EXPECT_EQ(c.workers, 2u);
}

TEST_F(ServerConfigTest, ExtraFlags) {
  ServerConfig c = parseOk({"--cert-file", "c.pem", "--key-file", "k.pem", "--client-ca-file",
                            "ca.pem", "--metrics-port", "9090", "--max-body-bytes", "1024"});
  EXPECT_EQ(c.client_ca_file, "ca.pem");
  EXPECT_EQ(c.metrics_port, 9090);
  EXPECT_EQ(c.max_body_bytes, 1024u);
  setenv("KUBEWARDEN_METRICS_PORT", "9191", 1);
  EXPECT_EQ(parseOk({}).metrics_port, 9191);
}

// Issue 14: the engine is chosen by name, from the flag or KUBEWARDEN_ENGINE (flag first); a
// name this build does not have is refused before anything starts.
TEST_F(ServerConfigTest, EngineFlagAndVariable) {
  for (const auto& name : wasm::engineNames()) {
    EXPECT_EQ(parseOk({"--engine", name}).engine, name);
    setenv("KUBEWARDEN_ENGINE", name.c_str(), 1);
    EXPECT_EQ(parseOk({}).engine, name);
  }
  setenv("KUBEWARDEN_ENGINE", "nope", 1);
  EXPECT_EQ(parseOk({"--engine", "v8"}).engine, "v8");
  auto bad = parse({});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--engine"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("nope"), std::string::npos) << bad.error().message;
}

TEST_F(ServerConfigTest, OverloadFlags) {
  ServerConfig d = parseOk({});
  EXPECT_EQ(d.max_queued_evaluations, 1024u);
  EXPECT_EQ(d.max_workers_per_policy, 0u);  // the pool takes half of --workers
  EXPECT_EQ(d.http_threads, 1u);
  ServerConfig c = parseOk({"--workers", "4", "--max-queued-evaluations", "10",
                            "--max-workers-per-policy", "3", "--http-threads", "2"});
  EXPECT_EQ(c.max_queued_evaluations, 10u);
  EXPECT_EQ(c.max_workers_per_policy, 3u);
  EXPECT_EQ(c.http_threads, 2u);
  setenv("KUBEWARDEN_MAX_QUEUED_EVALUATIONS", "7", 1);
  EXPECT_EQ(parseOk({}).max_queued_evaluations, 7u);
  unsetenv("KUBEWARDEN_MAX_QUEUED_EVALUATIONS");

  auto zero = parse({"--max-queued-evaluations", "0"});
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "--max-queued-evaluations must be at least 1");
  auto too_many = parse({"--workers", "2", "--max-workers-per-policy", "3"});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().message, "--max-workers-per-policy (3) cannot exceed --workers (2)");
}

TEST_F(ServerConfigTest, CertWithoutKeyIsUpstreamsError) {
  auto only_cert = parse({"--cert-file", "cert.pem"});
  ASSERT_FALSE(only_cert.ok());
  EXPECT_EQ(only_cert.error().message, kCertKeyError);

  setenv("KUBEWARDEN_KEY_FILE", "key.pem", 1);
  auto only_key = parse({});
  ASSERT_FALSE(only_key.ok());
  EXPECT_EQ(only_key.error().message, kCertKeyError);

  auto both = parse({"--cert-file", "cert.pem"});
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_TRUE(both->tlsEnabled());
}

TEST_F(ServerConfigTest, ClientCaNeedsTls) {
  auto c = parse({"--client-ca-file", "ca.pem"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("--client-ca-file"), std::string::npos);
}

// Issue 16: upstream's controller sets KUBEWARDEN_LOG_FMT=otlp when tracing is on; that made
// ours exit 1. It is accepted, and logs stay text.
TEST_F(ServerConfigTest, OtlpLogFormatIsAccepted) {
  auto c = parse({"--log-fmt", "otlp"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->log_fmt, LogFormat::Otlp);
}

// Issue 16's CLI comparison: upstream's boolean flags take a value (`--enable-metrics true`, the
// clap form) and read only their presence; ours refused the value.
TEST_F(ServerConfigTest, BooleanFlagsTakeAnOptionalValueAsUpstream) {
  ServerConfig c = parseOk({"--enable-metrics", "true", "--daemon", "--log-level", "debug",
                            "--ignore-kubernetes-connection-failure=1"});
  EXPECT_TRUE(c.enable_metrics);
  EXPECT_TRUE(c.daemon);
  EXPECT_TRUE(c.ignore_kubernetes_connection_failure);
  EXPECT_EQ(c.log_level, "debug");  // a flag without a value does not swallow the next one
  EXPECT_TRUE(c.warnings.empty());
  ServerConfig off = parseOk({"--daemon=false"});
  EXPECT_TRUE(off.daemon);  // as upstream: presence is what counts
  ASSERT_EQ(off.warnings.size(), 1u);
  EXPECT_NE(off.warnings[0].find("--daemon was given `false`, which turns it on"),
            std::string::npos)
      << off.warnings[0];
}

TEST_F(ServerConfigTest, InvalidValuesAreErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const Case cases[] = {
      {{"--log-fmt", "xml"}, "must be text, json or otlp"},
      {{"--log-level", "verbose"}, "--log-level"},
      {{"--policy-timeout", "0"}, "--policy-timeout"},
      {{"--policy-timeout", "-1"}, "--policy-timeout"},
      {{"--policy-timeout", "soon"}, "--policy-timeout"},
      {{"--workers", "0"}, "--workers"},
      {{"--port", "70000"}, "--port"},
      {{"--no-such-flag"}, "--no-such-flag"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.args);
    ASSERT_FALSE(r.ok()) << c.args[0];
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos)
        << c.args[0] << ": " << r.error().message;
  }
}

TEST_F(ServerConfigTest, PolicyTimeoutIsPrecise) {
  EXPECT_EQ(parseOk({"--policy-timeout", "0.001"}).policyTimeout(), std::chrono::milliseconds(1));
  EXPECT_EQ(parseOk({"--policy-timeout", "3"}).policyTimeout(), std::chrono::seconds(3));
  EXPECT_EQ(parseOk({"--policy-timeout", "0.1"}).policyTimeout(), std::chrono::milliseconds(100));
}

TEST_F(ServerConfigTest, VersionAndHelpAreLeftToTheCaller) {
  EXPECT_TRUE(parseOk({"--version"}).show_version);
  // --version wins over configuration problems, as printing it needs no valid setup.
  auto v = parse({"--version", "--cert-file", "x"});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->show_version);

  ServerConfig h = parseOk({"--help"});
  EXPECT_TRUE(h.show_help);
  for (const char* needle : {"--policy-timeout", "KUBEWARDEN_POLICY_TIMEOUT", "--workers",
                             "--always-accept-admission-reviews-on-namespace", "NO_COLOR"}) {
    EXPECT_NE(h.help_text.find(needle), std::string::npos) << needle;
  }
}

// Issue 16's CLI comparison: a malformed command line exited 1 where upstream's clap exits 2,
// and -V was refused. Values that parse but do not fit together stay exit 1, as upstream's.
TEST_F(ServerConfigTest, UsageErrorsAreToldApartFromBadValues) {
  bool usage = false;
  std::vector<const char*> unknown = {"policy-server", "--no-such-flag"};
  EXPECT_FALSE(parseConfig(int(unknown.size()), unknown.data(), &usage).ok());
  EXPECT_TRUE(usage);
  std::vector<const char*> unparsable = {"policy-server", "--port", "http"};
  EXPECT_FALSE(parseConfig(int(unparsable.size()), unparsable.data(), &usage).ok());
  EXPECT_TRUE(usage);
  std::vector<const char*> inconsistent = {"policy-server", "--cert-file", "x"};
  EXPECT_FALSE(parseConfig(int(inconsistent.size()), inconsistent.data(), &usage).ok());
  EXPECT_FALSE(usage);
  EXPECT_TRUE(parseOk({"-V"}).show_short_version);
}

// Issue 16's CLI comparison: upstream's controller sets KUBEWARDEN_LOG_FMT=otlp when tracing is
// on, and ours exited 1. It starts, says once that spans are not exported, and logs as text.
TEST_F(ServerConfigTest, TheBinaryAcceptsOtlpWithOneWarningAndKeepsLogging) {
  auto run =
      test::runCommand("KUBEWARDEN_LOG_FMT=otlp '" + (test::binDir() / "policy-server").string() +
                       "' --policies /nonexistent/policies.yml 2>&1");
  EXPECT_EQ(run.status, 1) << run.out;  // the missing file, not the log format
  size_t warnings = 0;
  for (size_t at = run.out.find("otlp"); at != std::string::npos; at = run.out.find("otlp", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << run.out;
  EXPECT_NE(run.out.find("[warning] --log-fmt otlp: spans are not exported over OTLP"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("[error] cannot read /nonexistent/policies.yml"), std::string::npos)
      << run.out;
}

TEST_F(ServerConfigTest, TheBinaryExitsTwoOnUsageErrorsAndPrintsVersions) {
  const std::string server = "'" + (test::binDir() / "policy-server").string() + "'";
  auto unknown = test::runCommand(server + " --no-such-flag 2>&1");
  EXPECT_EQ(unknown.status, 2) << unknown.out;
  EXPECT_EQ(unknown.out, "Error: The following argument was not expected: --no-such-flag\n");
  EXPECT_EQ(test::runCommand(server + " --workers many 2>&1").status, 2);
  auto inconsistent = test::runCommand(server + " --cert-file x 2>&1");
  EXPECT_EQ(inconsistent.status, 1) << inconsistent.out;
  EXPECT_EQ(inconsistent.out, std::string("Error: ") + kCertKeyError + "\n");

  auto short_version = test::runCommand(server + " -V");
  EXPECT_EQ(short_version.status, 0);
  EXPECT_EQ(short_version.out, "policy-server " + std::string(kKubewardenVersion) + "-cpp\n");
  auto long_version = test::runCommand(server + " --version");
  EXPECT_EQ(long_version.status, 0);
  EXPECT_TRUE(long_version.out.starts_with(short_version.out + "\nOPA builtins implemented:\n"))
      << long_version.out;
}

}  // namespace
}  // namespace kw::server
