#include "audit/run.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kw::audit {
namespace {

// parseArgs over a command line given as strings.
struct Parsed {
  Result<ScanOptions> options = makeError("unset");
  int exit_code = -1;
};
Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "audit-scanner");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  Parsed p;
  p.options = parseArgs(static_cast<int>(argv.size()), argv.data(), p.exit_code);
  return p;
}

TEST(AuditFlags, DefaultsAreThoseOf110And113) {
  Parsed p = parse({});
  ASSERT_TRUE(p.options.ok()) << p.options.error().message;
  const ScanOptions& o = *p.options;
  EXPECT_EQ(o.kubewarden_ns, "kubewarden");
  EXPECT_EQ(o.store.kind, "kubernetes");
  EXPECT_EQ(o.loglevel, "info");
  EXPECT_FALSE(o.cluster_only);
  EXPECT_FALSE(o.per_resource_reports);
  EXPECT_EQ(o.parallel_namespaces, 1);
  EXPECT_EQ(o.parallel_resources, 100);
  EXPECT_EQ(o.parallel_policies, 5);
  EXPECT_EQ(o.page_size, 100);
  EXPECT_EQ(o.maxInFlight(), 500);
}

TEST(AuditFlags, ShortAndLongFormsAndRepeatableIgnoreList) {
  Parsed p = parse({"-n",
                    "shop",
                    "-k",
                    "kw",
                    "-u",
                    "https://localhost:3000",
                    "--insecure-ssl",
                    "-o",
                    "-i",
                    "a,b",
                    "--ignore-namespaces",
                    "c",
                    "-l",
                    "debug",
                    "-s",
                    "sqlite",
                    "--store-path",
                    "/tmp/x.db",
                    "--report-granularity",
                    "resource",
                    "--parallel-namespaces",
                    "4",
                    "--page-size",
                    "50"});
  ASSERT_TRUE(p.options.ok()) << p.options.error().message;
  const ScanOptions& o = *p.options;
  EXPECT_EQ(o.ns, "shop");
  EXPECT_EQ(o.kubewarden_ns, "kw");
  EXPECT_EQ(o.policy_server_url, "https://localhost:3000");
  EXPECT_TRUE(o.insecure_ssl);
  EXPECT_TRUE(o.output_scan);
  EXPECT_EQ(o.ignore_namespaces, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(o.loglevel, "debug");
  EXPECT_EQ(o.store.kind, "sqlite");
  EXPECT_EQ(o.store.path, "/tmp/x.db");
  EXPECT_TRUE(o.per_resource_reports);
  EXPECT_EQ(o.parallel_namespaces, 4);
  EXPECT_EQ(o.page_size, 50);
}

TEST(AuditFlags, ContradictionsAndMissingStoreLocationsAreRefused) {
  Parsed both = parse({"-c", "-n", "shop"});
  ASSERT_FALSE(both.options.ok());
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.options.error().message, "--cluster and --namespace exclude each other");
  Parsed sqlite = parse({"--store", "sqlite"});
  ASSERT_FALSE(sqlite.options.ok());
  EXPECT_EQ(sqlite.options.error().message, "--store sqlite needs --store-path");
  Parsed pg = parse({"--store", "postgres"});
  ASSERT_FALSE(pg.options.ok());
  EXPECT_EQ(pg.options.error().message, "--store postgres needs --store-url");
  Parsed unknown = parse({"--store", "etcd"});
  EXPECT_FALSE(unknown.options.ok());
  EXPECT_NE(unknown.exit_code, 0);
  Parsed zero = parse({"--page-size", "0"});
  EXPECT_FALSE(zero.options.ok());
}

}  // namespace
}  // namespace kw::audit
