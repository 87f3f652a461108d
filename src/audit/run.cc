#include "audit/run.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "audit/http_client.h"
#include "audit/scanner.h"
#include "kube/client.h"
#include "kube/config.h"
#include "reports/store.h"

#ifndef KW_VERSION
#define KW_VERSION "0.1.0"
#endif

namespace kw::audit {
namespace {

std::vector<std::string> splitCommas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    for (size_t comma; (comma = v.find(',', start)) != std::string::npos; start = comma + 1)
      if (comma > start) out.push_back(v.substr(start, comma - start));
    if (start < v.size()) out.push_back(v.substr(start));
  }
  return out;
}

Result<kube::Config> kubeConfig(const ScanOptions& o) {
  if (!o.kubeconfig.empty()) return kube::loadKubeconfig(std::filesystem::path(o.kubeconfig));
  return kube::inferConfig();
}

}  // namespace

Result<ScanOptions> parseArgs(int argc, char** argv, int& exit_code) {
  exit_code = -1;
  ScanOptions o;
  std::vector<std::string> ignores;
  std::string granularity = "namespace";
  CLI::App app{
      "Audits the resources of a cluster against its Kubewarden policies and writes "
      "PolicyReports",
      "audit-scanner"};
  app.set_version_flag("--version", std::string("audit-scanner ") + KW_VERSION);
  app.add_option("-n,--namespace", o.ns, "scan only this namespace");
  app.add_flag("-c,--cluster", o.cluster_only, "scan only cluster-scoped resources");
  app.add_option("-k,--kubewarden-namespace", o.kubewarden_ns,
                 "namespace of the PolicyServers' Services; never scanned")
      ->capture_default_str();
  app.add_option("-u,--policy-server-url", o.policy_server_url,
                 "send every request to <url>/audit/<policy> (debugging outside the cluster)");
  app.add_option("-f,--extra-ca", o.extra_ca, "PEM file of a CA trusted for the policy-servers")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure-ssl", o.insecure_ssl, "do not verify the policy-servers' certificates");
  app.add_flag("-o,--output-scan", o.output_scan, "print each report as JSON on stdout");
  app.add_option("-i,--ignore-namespaces", ignores,
                 "namespaces not to scan (comma list, repeatable)");
  app.add_option("-l,--loglevel", o.loglevel, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error"}))
      ->capture_default_str();
  app.add_option("-s,--store", o.store.kind, "where reports go")
      ->check(CLI::IsMember({"kubernetes", "memory", "sqlite", "postgres"}))
      ->capture_default_str();
  app.add_option("--store-path", o.store.path, "sqlite: the database file");
  app.add_option("--store-url", o.store.url, "postgres: a libpq connection URI");
  app.add_option("--report-granularity", granularity,
                 "namespace: one report per namespace (1.10); resource: one per resource (1.11)")
      ->check(CLI::IsMember({"namespace", "resource"}))
      ->capture_default_str();
  app.add_option("--parallel-namespaces", o.parallel_namespaces, "namespaces scanned at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--parallel-resources", o.parallel_resources, "resources audited at once")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--parallel-policies", o.parallel_policies, "policies per resource at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--page-size", o.page_size, "objects per list request")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--kubeconfig", o.kubeconfig,
                 "kubeconfig file (default $KUBECONFIG, then in-cluster)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return makeError(e.what());
  }
  o.ignore_namespaces = splitCommas(ignores);
  o.per_resource_reports = granularity == "resource";
  if (o.cluster_only && !o.ns.empty()) {
    exit_code = 1;
    return makeError("--cluster and --namespace exclude each other");
  }
  if (o.store.kind == "sqlite" && o.store.path.empty()) {
    exit_code = 1;
    return makeError("--store sqlite needs --store-path");
  }
  if (o.store.kind == "postgres" && o.store.url.empty()) {
    exit_code = 1;
    return makeError("--store postgres needs --store-url");
  }
  return o;
}

int run(int argc, char** argv) {
  // Logs on stderr: stdout carries --output-scan's reports.
  spdlog::set_default_logger(spdlog::stderr_color_mt("audit-scanner"));
  int exit_code = -1;
  auto options = parseArgs(argc, argv, exit_code);
  if (!options) {
    if (exit_code == 1) std::cerr << "audit-scanner: " << options.error().message << "\n";
    return exit_code;
  }
  spdlog::set_level(spdlog::level::from_str(options->loglevel));
  auto config = kubeConfig(*options);
  if (!config) {
    spdlog::error("no Kubernetes configuration: {}", config.error().message);
    return 1;
  }
  auto client = kube::Client::create(*config);
  if (!client) {
    spdlog::error("{}", client.error().message);
    return 1;
  }
  auto store = reports::openStore(options->store, *client);
  if (!store) {
    spdlog::error("opening the {} store: {}", options->store.kind, store.error().message);
    return 1;
  }
  PolicyServerClient http({options->extra_ca, options->insecure_ssl});
  Scanner scanner(*options, *client, **store, http);
  auto summary = scanner.run();
  if (!summary) {
    spdlog::error("audit scan failed: {}", summary.error().message);
    return 1;
  }
  spdlog::info("{}", summary->line());
  return summary->error > 0 || summary->failed_scopes > 0 ? 2 : 0;
}

}  // namespace kw::audit
