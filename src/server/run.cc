#include "server/run.h"

#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "http/http_server.h"
#include "http/metrics.h"
#include "opa/builtins.h"
#include "server/api.h"
#include "server/config.h"
#include "server/environment.h"
#include "server/host_setup.h"
#include "server/policies_file.h"
#include "server/worker_pool.h"

namespace kw::server {
namespace {

// One JSON object per line, with the message escaped properly (a pattern string cannot).
class JsonLineSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto ts = std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch());
    nlohmann::ordered_json line = {
        {"timestamp_us", ts.count()},
        {"level", spdlog::level::to_string_view(msg.level).data()},
        {"target", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"message", std::string(msg.payload.data(), msg.payload.size())}};
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.push_back('\n');
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  void flush_() override { std::fflush(stdout); }
};

void setupLogging(const ServerConfig& config) {
  std::shared_ptr<spdlog::logger> logger;
  if (config.log_fmt == LogFormat::Json) {
    logger = std::make_shared<spdlog::logger>("policy-server", std::make_shared<JsonLineSink>());
  } else if (config.log_no_color) {
    logger = spdlog::stdout_logger_mt("policy-server");
  } else {
    logger = spdlog::stdout_color_mt("policy-server");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::flush_on(spdlog::level::info);
  for (const auto& warning : config.warnings) spdlog::warn("{}", warning);
  if (config.log_fmt == LogFormat::Otlp) {
    spdlog::warn(
        "--log-fmt otlp: spans are not exported over OTLP by this build yet; logging as text");
  }
}

void printVersion(bool with_builtins) {
  std::cout << "policy-server " << kKubewardenVersion << "-cpp\n";
  if (!with_builtins) return;
  std::cout << "\nOPA builtins implemented:\n";
  for (const auto& name : opa::implementedBuiltins()) std::cout << "  " << name << "\n";
}

http::ServerOptions serverOptions(const ServerConfig& config) {
  http::ServerOptions so;
  so.address = config.addr;
  so.port = config.port;
  so.cert_file = config.cert_file;
  so.key_file = config.key_file;
  so.client_ca_file = config.client_ca_file;
  so.max_body_bytes = config.max_body_bytes;
  so.threads = config.http_threads;
  // As upstream, metrics exist only with --enable-metrics. They are served on their own port
  // (8080 by default); the transport falls back to the main listener when that port is taken,
  // as it is by the OpenTelemetry collector sidecar upstream's chart adds.
  so.serve_metrics = config.enable_metrics;
  if (config.enable_metrics) so.metrics_port = config.metrics_port;
  return so;
}

// SIGTERM and SIGINT are blocked in every thread and taken synchronously by the main thread,
// so no handler runs in the middle of request processing.
sigset_t shutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

int serve(const ServerConfig& config) {
  auto policies = readPoliciesFile(config.policies);
  if (!policies) {
    spdlog::error("{}", policies.error().message);
    return 1;
  }
  HostSetupOptions host_options;
  host_options.ignore_kubernetes_connection_failure = config.ignore_kubernetes_connection_failure;
  if (config.sources_path) {
    auto sources = readSourcesFile(*config.sources_path);
    if (!sources) {
      spdlog::error("{}", sources.error().message);
      return 1;
    }
    host_options.registry.sources = std::move(*sources);
  }
  if (config.docker_config_json_path) {
    host_options.registry.docker_config_dir = *config.docker_config_json_path;
  }
  auto boot = std::chrono::steady_clock::now();
  // Kubernetes caches are synced before any policy is compiled, so the first request that reads
  // the cluster finds it in memory; the stack lives as long as the server.
  auto host = setupServerHost(*policies, std::move(host_options));
  if (!host) {
    spdlog::error("{}", host.error().message);
    return 1;
  }
  WorkerPool pool(
      PoolOptions{config.workers, config.max_queued_evaluations, config.max_workers_per_policy});
  http::Metrics metrics;
  metrics.setSaturationSource([&pool] {
    auto s = pool.stats();
    return http::Saturation{s.threads, s.busy, s.queued, s.max_queued};
  });
  EnvironmentOptions env_options;
  env_options.dispatcher = host->dispatcher;
  auto env = EvaluationEnvironment::create(config, *policies, pool, std::move(env_options));
  if (!env) {
    spdlog::error("{}", env.error().message);
    return 1;
  }
  // Compiling modules with the optimising compiler leaves a lot of freed heap behind that
  // glibc keeps; give it back once, before serving, so RSS reflects what serving needs.
  malloc_trim(0);
  Api api(**env, pool, &metrics, ApiOptions::fromConfig(config));
  http::HttpServer server(serverOptions(config), api, &metrics);
  if (auto started = server.start(); !started) {
    spdlog::error("{}", started.error().message);
    return 1;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  boot);
  spdlog::info(
      "policy-server ready on {}:{} ({}) in {} ms: {} policies over {} modules, {} "
      "workers (at most {} per policy), up to {} queued requests",
      config.addr, server.port(), config.tlsEnabled() ? "https" : "http", ms.count(),
      (*env)->policyCount(), (*env)->distinctModules(), pool.size(), pool.stats().max_per_group,
      config.max_queued_evaluations);

  sigset_t signals = shutdownSignals();
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, draining {} in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               server.inFlight());
  server.shutdown();
  server.wait();
  pool.shutdown();
  spdlog::info("policy-server stopped");
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  // glibc gives every thread that allocates its own heap arena; with one evaluation thread per
  // worker that made RSS grow with --workers. Two arenas keep it flat at no measurable cost,
  // since evaluations allocate little through malloc.
  mallopt(M_ARENA_MAX, 2);
  sigset_t signals = shutdownSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  bool usage_error = false;
  auto config = parseConfig(argc, argv, &usage_error);
  if (!config) {
    std::cerr << "Error: " << config.error().message << "\n";
    // Scripts written for upstream test for clap's 2 on a malformed command line.
    return usage_error ? 2 : 1;
  }
  if (config->show_help) {
    std::cout << config->help_text;
    return 0;
  }
  if (config->show_version || config->show_short_version) {
    printVersion(config->show_version);
    return 0;
  }
  setupLogging(*config);
  return serve(*config);
}

}  // namespace kw::server
