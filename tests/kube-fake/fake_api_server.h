// A fake Kubernetes API server (test double) over real HTTPS: discovery, get/list/watch,
// create/update/patch/delete with Kubernetes semantics (resourceVersion, 409 conflicts, 410 for
// versions older than its bounded history, Status objects) and bearer-token auth with optional
// per-token resource allow-lists. Tests drive it through the C++ API below as well.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "kube-fake/fake_store.h"

namespace kw::kube::fake {

class FakeApiServer {
 public:
  struct Options {
    uint16_t port = 0;  // 0: any free port
    size_t history_limit = 10000;
    std::chrono::milliseconds bookmark_interval{1000};
    std::string admin_token = "fake-admin-token";
  };

  static Result<std::unique_ptr<FakeApiServer>> start(Options options);
  static Result<std::unique_ptr<FakeApiServer>> start() { return start(Options{}); }
  ~FakeApiServer();

  std::string url() const;  // https://127.0.0.1:<port>
  uint16_t port() const { return port_; }
  const std::string& caPem() const;
  const std::string& adminToken() const { return options_.admin_token; }
  // A kubeconfig (server, CA data, token) written atomically; empty token: the admin token.
  Status writeKubeconfig(const std::filesystem::path& path, const std::string& token = "") const;

  // `allowed`: resources this token may touch, as "<plural>" or "<plural>.<group>"; nullopt:
  // everything. Any other token gets 401.
  void setToken(const std::string& token, const std::string& user,
                std::optional<std::set<std::string>> allowed = std::nullopt);
  void registerType(FakeType type) { store_.registerType(std::move(type)); }

  // Test-side object changes, seen by watchers as ADDED/MODIFIED/DELETED events.
  Result<std::string> put(nlohmann::json object);
  bool remove(const std::string& api_version, const std::string& kind, const std::string& ns,
              const std::string& name);
  uint64_t resourceVersion() const { return store_.resourceVersion(); }
  void compactHistory() { store_.compactHistory(); }
  void closeWatches();  // cuts every open watch stream mid-flight
  size_t activeWatches() const { return active_watches_.load(); }
  // "GET /api/v1/namespaces?limit=500" lines, most recent last (bounded).
  std::vector<std::string> requests() const;
  size_t countRequests(const std::string& prefix) const;
  FakeStore& store() { return store_; }

 private:
  struct Grant {
    std::string user;
    std::optional<std::set<std::string>> allowed;
  };
  struct Connection;
  explicit FakeApiServer(Options options);
  Status listen();
  void acceptLoop();
  void serve(Connection* conn);
  friend struct Router;

  Options options_;
  FakeStore store_;
  std::string cert_pem_, key_pem_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> watch_generation_{0};
  std::atomic<size_t> active_watches_{0};
  mutable std::mutex mu_;
  std::map<std::string, Grant> tokens_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::vector<std::string> request_log_;
  std::thread acceptor_;
  void* ssl_ctx_ = nullptr;
};

}  // namespace kw::kube::fake
