// Kubernetes cache benchmark: starts the fake API server (test double) with N Namespaces and
// M Ingresses in its own process, then measures in this process (a) cold start to synced
// caches for both types, (b) RSS growth of the cache against the JSON size of the cached
// objects, (c) listAll(Namespace) latency percentiles. Prints a Markdown table.
#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "kube/cached_reader.h"
#include "kube/config.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

size_t rssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

pid_t startFake(const fs::path& kubeconfig, int namespaces, int ingresses) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string bin = std::string(KW_BIN_DIR) + "/kube-fake";
    std::string ns = std::to_string(namespaces), ing = std::to_string(ingresses);
    execl(bin.c_str(), bin.c_str(), "--kubeconfig-out", kubeconfig.c_str(), "--namespaces",
          ns.c_str(), "--ingresses", ing.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  int namespaces = argc > 1 ? std::atoi(argv[1]) : 3000;
  int ingresses = argc > 2 ? std::atoi(argv[2]) : 10000;
  int iterations = argc > 3 ? std::atoi(argv[3]) : 2000;
  fs::path dir = fs::temp_directory_path() / fmt::format("kw-kube-bench-{}", getpid());
  fs::create_directories(dir);
  fs::path kubeconfig = dir / "kubeconfig";
  pid_t fake = startFake(kubeconfig, namespaces, ingresses);
  auto give_up = Clock::now() + std::chrono::seconds(120);
  while (!fs::exists(kubeconfig) && Clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto config = kw::kube::loadKubeconfig(kubeconfig);
  auto client = config ? kw::kube::Client::create(*config)
                       : kw::Result<std::shared_ptr<kw::kube::Client>>(config.error());
  int rc = 1;
  if (!client) {
    fmt::print(stderr, "{}\n", client.error().message);
  } else {
    const kw::kube::ResourceKey ns_key{"v1", "Namespace"};
    const kw::kube::ResourceKey ing_key{"networking.k8s.io/v1", "Ingress"};
    (void)(*client)->resolve(ns_key);  // warm discovery and the TLS connection
    (void)(*client)->resolve(ing_key);
    malloc_trim(0);
    size_t rss_before = rssBytes();
    auto reader = std::make_unique<kw::kube::CachedReader>(*client);
    auto t0 = Clock::now();
    auto started = reader->start({ns_key, ing_key});
    auto synced = started ? reader->waitForSync(std::chrono::seconds(120)) : started;
    auto cold = Clock::now() - t0;
    if (!synced) {
      fmt::print(stderr, "{}\n", synced.error().message);
    } else {
      size_t rss_synced = rssBytes();
      malloc_trim(0);  // the policy-server trims after boot too (glibc keeps freed list pages)
      size_t rss_trimmed = rssBytes();
      size_t json_bytes = 0, objects = 0;
      for (const auto& key : {ns_key, ing_key})
        (void)reader->forEach(key, [&](std::string_view, std::string_view, std::string_view j) {
          json_bytes += j.size();
          ++objects;
        });
      std::vector<double> lat;
      size_t list_bytes = 0;
      for (int i = 0; i < iterations; ++i) {
        auto s = Clock::now();
        auto list = reader->listAll(ns_key, {});
        lat.push_back(ms(Clock::now() - s));
        list_bytes = list ? list->size() : 0;
      }
      std::sort(lat.begin(), lat.end());
      auto pct = [&](double p) { return lat[static_cast<size_t>(p * (lat.size() - 1))]; };
      double growth = static_cast<double>(rss_trimmed - rss_before);
      fmt::print("| metric | value |\n|---|---|\n");
      fmt::print("| objects cached | {} ({} Namespaces, {} Ingresses) |\n", objects, namespaces,
                 ingresses);
      fmt::print("| cold start to synced caches (both types) | {:.0f} ms |\n", ms(cold));
      fmt::print("| JSON size of cached objects | {:.1f} MiB |\n", json_bytes / 1048576.0);
      fmt::print("| RSS growth after sync, untrimmed | {:.1f} MiB (ratio {:.2f}) |\n",
                 (rss_synced - rss_before) / 1048576.0,
                 (rss_synced - rss_before) / double(json_bytes));
      fmt::print("| RSS growth after sync, after malloc_trim | {:.1f} MiB (ratio {:.2f}) |\n",
                 growth / 1048576.0, growth / double(json_bytes));
      fmt::print(
          "| listAll(Namespace) p50 / p99 ({} calls, {:.2f} MiB each) | {:.3f} ms / {:.3f} ms |\n",
          iterations, list_bytes / 1048576.0, pct(0.5), pct(0.99));
      rc = 0;
    }
    reader.reset();
  }
  kill(fake, SIGTERM);
  waitpid(fake, nullptr, 0);
  fs::remove_all(dir);
  return rc;
}
