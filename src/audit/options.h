// What one audit-scanner run does: 1.10's flags (spec §5.1) plus ours (issue 12).
#pragma once

#include <string>
#include <vector>

#include "reports/policy_report.h"
#include "reports/store.h"

namespace kw::audit {

struct ScanOptions {
  std::string ns;             // -n: only this namespace
  bool cluster_only = false;  // -c: only cluster-scoped resources
  std::string kubewarden_ns = "kubewarden";
  std::string policy_server_url;  // -u: every request to <url>/audit/<policy>
  std::string extra_ca;           // -f: PEM file
  bool insecure_ssl = false;
  bool output_scan = false;  // -o: print the reports' JSON on stdout
  std::vector<std::string> ignore_namespaces;
  std::string loglevel = "info";
  std::string kubeconfig;  // "" : $KUBECONFIG, ~/.kube/config, then in-cluster
  reports::StoreOptions store;
  bool per_resource_reports = false;  // --report-granularity resource (1.11)
  int parallel_namespaces = 1;        // 1.13 defaults
  int parallel_resources = 100;
  int parallel_policies = 5;
  int page_size = 100;

  // The requests in flight at most: 1.13's product of the three parallel flags.
  int maxInFlight() const { return parallel_namespaces * parallel_resources * parallel_policies; }
};

}  // namespace kw::audit
