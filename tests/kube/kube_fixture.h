// Shared setup for the Kubernetes tests: a fake API server (test double) and a client that
// reaches it through a kubeconfig, as production code does.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "kube-fake/fake_api_server.h"
#include "kube/client.h"
#include "kube/config.h"

namespace kw::kube::test {

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

inline std::filesystem::path tempDir(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kw-kube-" + tag + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Waits (bounded) for a condition that other threads make true; returns its final value.
inline bool eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

class KubeFakeFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::FakeApiServer::Options options = fakeOptions();
    auto server = fake::FakeApiServer::start(options);
    ASSERT_TRUE(server.ok()) << server.error().message;
    fake_ = std::move(*server);
    dir_ = tempDir("fixture");
    ASSERT_TRUE(fake_->writeKubeconfig(dir_ / "kubeconfig").ok());
    client_ = clientFor(fake_->adminToken());
  }
  void TearDown() override {
    client_.reset();
    fake_.reset();
    std::filesystem::remove_all(dir_);
  }
  virtual fake::FakeApiServer::Options fakeOptions() { return {}; }

  std::shared_ptr<Client> clientFor(const std::string& token) {
    auto path = dir_ / ("kubeconfig-" + token);
    EXPECT_TRUE(fake_->writeKubeconfig(path, token).ok());
    auto config = loadKubeconfig(path);
    EXPECT_TRUE(config.ok()) << config.error().message;
    auto client = Client::create(*config);
    EXPECT_TRUE(client.ok());
    return *client;
  }

  void addNamespace(const std::string& name, nlohmann::json labels = nlohmann::json::object()) {
    nlohmann::json ns = {{"apiVersion", "v1"},
                         {"kind", "Namespace"},
                         {"metadata", {{"name", name}, {"labels", labels}}}};
    ASSERT_TRUE(fake_->put(ns).ok());
  }

  std::unique_ptr<fake::FakeApiServer> fake_;
  std::shared_ptr<Client> client_;
  std::filesystem::path dir_;
};

}  // namespace kw::kube::test
