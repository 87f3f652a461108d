#include "controller/run.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "common/memory_release.h"
#include "controller/admission_server.h"
#include "controller/controller.h"
#include "controller/leader_election.h"
#include "controller/metrics.h"
#include "http/http_server.h"
#include "kube/config.h"

namespace kw::controller {

namespace {

// SIGTERM/SIGINT stop; SIGUSR1 means a fatal condition found on another thread (lost lease,
// controller failed to start): the main thread takes all three synchronously.
sigset_t controlSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  return set;
}

class ProbeHandler : public http::Handler {
 public:
  explicit ProbeHandler(std::function<bool()> ready) : ready_(std::move(ready)) {}
  void handle(http::HttpRequest request, std::function<void(http::HttpResponse)> done) override {
    if (request.target == "/healthz") return done({200, "text/plain", "ok"});
    if (request.target == "/readyz") {
      if (ready_()) return done({200, "text/plain", "ok"});
      return done({500, "text/plain", "caches not synced"});
    }
    done({404, "text/plain", "not found"});
  }

 private:
  std::function<bool()> ready_;
};

class MetricsHandler : public http::Handler {
 public:
  explicit MetricsHandler(const ControllerMetrics& metrics) : metrics_(metrics) {}
  void handle(http::HttpRequest request, std::function<void(http::HttpResponse)> done) override {
    if (request.target != "/metrics") return done({404, "text/plain", "not found"});
    done({200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render()});
  }

 private:
  const ControllerMetrics& metrics_;
};

Result<std::unique_ptr<http::HttpServer>> listen(const std::string& address, http::Handler& handler,
                                                 const char* what) {
  auto bind = parseBindAddress(address);
  if (!bind) return makeError("--" + std::string(what) + ": " + bind.error().message);
  http::ServerOptions so;
  so.address = bind->first;
  so.port = bind->second;
  so.serve_metrics = false;
  auto srv = std::make_unique<http::HttpServer>(so, handler, nullptr);
  if (auto s = srv->start(); !s) return makeError(std::string(what) + ": " + s.error().message);
  spdlog::info("{} listening on http://{}:{}", what, bind->first, srv->port());
  return srv;
}

std::string identity() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  return fmt::format("{}_{:08x}{:08x}", host, rd(), rd());
}

Result<kube::Config> loadConfig(const std::string& kubeconfig) {
  if (!kubeconfig.empty()) return kube::loadKubeconfig(std::filesystem::path(kubeconfig));
  return kube::inferConfig();
}

}  // namespace

Result<std::pair<std::string, uint16_t>> parseBindAddress(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return makeError("\"" + address + "\" is not host:port");
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.empty()) host = "0.0.0.0";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535)
    return makeError("\"" + address + "\" has no valid port");
  return std::make_pair(host, static_cast<uint16_t>(p));
}

Result<std::optional<RunConfig>> parseRunConfig(int argc, char** argv) {
  RunConfig c;
  CLI::App app("kubewarden-controller: reconciles PolicyServers and Kubewarden policies",
               "kubewarden-controller");
  app.add_option("--metrics-bind-address", c.metrics_bind_address,
                 "The address the metric endpoint binds to (\"0\" turns it off)")
      ->capture_default_str();
  app.add_option("--health-probe-bind-address", c.health_probe_bind_address,
                 "The address the probe endpoint binds to")
      ->capture_default_str();
  app.add_flag("--leader-elect", c.leader_elect,
               "Enable leader election for controller manager, ensuring only one active "
               "controller");
  app.add_flag("--enable-metrics", c.options.enable_metrics,
               "Enable metrics collection for all Policy Servers and the Kubewarden Controller");
  app.add_flag("--enable-tracing", c.options.enable_tracing,
               "Enable tracing collection for all Policy Servers");
  app.add_option("--opentelemetry-endpoint", c.opentelemetry_endpoint,
                 "The OpenTelemetry connection endpoint")
      ->capture_default_str();
  app.add_option("--default-policy-server", c.options.default_policy_server,
                 "The default policy server to set on policies before they are persisted");
  app.add_option("--deployments-namespace", c.options.deployments_namespace,
                 "The namespace where the kubewarden resources will be created.")
      ->required();
  app.add_flag("--always-accept-admission-reviews-on-deployments-namespace",
               c.options.always_accept_admission_reviews_on_deployments_namespace,
               "Always accept admission reviews targeting the deployments-namespace.");
  app.add_option("--kubeconfig", c.kubeconfig,
                 "Path to a kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)");
  app.add_option("--webhook-bind-address", c.webhook_bind_address,
                 "The address the CRD admission webhook server binds to")
      ->capture_default_str();
  app.add_option("--webhook-cert-dir", c.webhook_cert_dir,
                 "Directory with the webhook server's tls.crt and tls.key")
      ->capture_default_str();
  app.add_option("--zap-log-level", c.log_level, "Log level: debug, info, error")
      ->capture_default_str();
  // Not upstream flags: the Lease's timings, so tests can hand over faster.
  app.add_option("--leader-election-id", c.leader_election_id)->group("");
  app.add_option("--label-selector", c.label_selector)->group("");
  app.add_option("--leader-lease-seconds", c.leader_lease_seconds)->group("");
  app.add_option("--leader-renew-seconds", c.leader_renew_seconds)->group("");
  app.add_option("--leader-retry-seconds", c.leader_retry_seconds)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return std::optional<RunConfig>();
  } catch (const CLI::ParseError& e) {
    return makeError(e.what());
  }
  if (c.options.deployments_namespace.empty())
    return makeError("--deployments-namespace must not be empty");
  if (const char* port = std::getenv("KUBEWARDEN_POLICY_SERVER_SERVICES_METRICS_PORT")) {
    char* end = nullptr;
    long p = std::strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535)
      return makeError(std::string("KUBEWARDEN_POLICY_SERVER_SERVICES_METRICS_PORT: \"") + port +
                       "\" is not a port number");
    c.options.policy_server_metrics_port = static_cast<int>(p);
  }
  return std::optional<RunConfig>(std::move(c));
}

int run(int argc, char** argv) {
  limitAllocatorArenas(2);  // a dozen watch threads: see common/memory_release.h
  sigset_t signals = controlSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started below
  auto parsed = parseRunConfig(argc, argv);
  if (!parsed) {
    std::cerr << "Error: " << parsed.error().message << "\n";
    return 2;
  }
  if (!*parsed) return 0;
  RunConfig config = std::move(**parsed);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);

  auto kube_config = loadConfig(config.kubeconfig);
  if (!kube_config) {
    spdlog::error("{}", kube_config.error().message);
    return 1;
  }
  auto client = kube::Client::create(*kube_config);
  if (!client) {
    spdlog::error("{}", client.error().message);
    return 1;
  }
  ControllerMetrics metrics;
  Controller::Tuning tuning;
  tuning.label_selector = config.label_selector;
  Controller controller(*client, config.options, metrics, tuning);
  std::atomic<bool> standby{false};
  ProbeHandler probes([&] { return standby.load() || controller.synced(); });
  MetricsHandler metrics_handler(metrics);
  auto probe_server = listen(config.health_probe_bind_address, probes, "health-probe-bind-address");
  if (!probe_server) {
    spdlog::error("{}", probe_server.error().message);
    return 1;
  }
  std::unique_ptr<http::HttpServer> metrics_server;
  if (config.metrics_bind_address != "0") {
    auto m = listen(config.metrics_bind_address, metrics_handler, "metrics-bind-address");
    if (!m) {
      spdlog::error("{}", m.error().message);
      return 1;
    }
    metrics_server = std::move(*m);
  }

  // Admission of our CRDs runs on every replica, leader or not, as controller-runtime's does.
  std::unique_ptr<AdmissionServer> admission;
  auto cert = std::filesystem::path(config.webhook_cert_dir) / "tls.crt";
  auto key = std::filesystem::path(config.webhook_cert_dir) / "tls.key";
  if (std::filesystem::exists(cert) && std::filesystem::exists(key)) {
    auto bind = parseBindAddress(config.webhook_bind_address);
    if (!bind) {
      spdlog::error("--webhook-bind-address: {}", bind.error().message);
      return 1;
    }
    AdmissionServerOptions ao;
    ao.address = bind->first;
    ao.port = bind->second;
    ao.cert_file = cert.string();
    ao.key_file = key.string();
    admission = std::make_unique<AdmissionServer>(
        ao, CrdAdmissionContext{config.options, kubeSecretTypeLookup(*client)});
    if (auto s = admission->start(); !s) {
      spdlog::error("webhook server: {}", s.error().message);
      return 1;
    }
    spdlog::info("webhook server listening on https://{}:{}", bind->first, admission->port());
  } else {
    spdlog::info("webhook server off: no tls.crt and tls.key in {}", config.webhook_cert_dir);
  }

  Writer lease_writer(*client, &metrics);
  LeaderElector::Options lo;
  lo.ns = config.options.deployments_namespace;
  lo.name = config.leader_election_id;
  lo.identity = identity();
  lo.lease_duration = std::chrono::seconds(config.leader_lease_seconds);
  lo.renew_deadline = std::chrono::seconds(config.leader_renew_seconds);
  lo.retry_period = std::chrono::seconds(config.leader_retry_seconds);
  LeaderElector elector(lease_writer, lo);

  std::atomic<int> exit_code{0};
  std::thread runner([&] {
    if (config.leader_elect) {
      standby.store(true);
      if (!elector.acquire()) return;  // stopped while waiting
      standby.store(false);
      elector.startRenewing([&] {
        exit_code.store(1);
        kill(getpid(), SIGUSR1);
      });
    }
    if (auto s = controller.start(std::chrono::seconds(60)); !s) {
      spdlog::error("{}", s.error().message);
      exit_code.store(1);
      kill(getpid(), SIGUSR1);
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  if (sig != SIGUSR1) spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  elector.stop();
  runner.join();
  controller.stop();
  if (config.leader_elect) elector.release();
  if (admission) admission->stop();
  probe_server.value()->shutdown();
  probe_server.value()->wait();
  if (metrics_server) {
    metrics_server->shutdown();
    metrics_server->wait();
  }
  spdlog::info("kubewarden-controller stopped");
  return exit_code.load();
}

}  // namespace kw::controller
