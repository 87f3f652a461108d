// kwctl run --engine, end to end on every engine of the build: the same verdicts, the same
// deadline and memory-cap texts, KUBEWARDEN_ENGINE, and a clear error for an unknown engine.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "support/cant_run.h"
#include "support/engines.h"
#include "support/test_env.h"

namespace kw::kwctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The result line of `kwctl run` (stdout carries only the AdmissionResponse).
json result(const std::string& out) {
  json j = json::parse(out.substr(0, out.find('\n')), nullptr, false);
  return j.is_object() ? j : json();
}

class KwctlEngine : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!fs::exists(test::binDir() / "kwctl")) KW_CANT_RUN() << "kwctl binary not built";
    std::string pattern = (fs::temp_directory_path() / "kw-engine-flag-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "request.json") << json{
        {"uid", "engine-uid"},
        {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
        {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
        {"operation", "CREATE"},
        {"object",
         {{"kind", "Pod"},
          {"metadata", {{"name", "web"}}},
          {"spec",
           {{"containers",
             json::array({{{"name", "c"}, {"securityContext", {{"privileged", true}}}}})}}}}}};
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // `kwctl run <guest> ...` with its code cache (beside the store) inside the scratch folder.
  test::CommandResult run(const std::string& guest, const std::string& flags,
                          const std::string& env = "", const std::string& command = "run") {
    std::string cmd = "XDG_CACHE_HOME='" + dir_.string() + "' " + env + " '" +
                      (test::binDir() / "kwctl").string() + "' " + command + " '" +
                      test::guestPath(guest).string() + "' -r '" +
                      (dir_ / "request.json").string() + "' " + flags + " 2>'" +
                      (dir_ / "stderr.txt").string() + "'";
    return test::runCommand(cmd);
  }
  std::string engineFlag() const { return "--engine " + GetParam(); }
  // Files in the code cache (kubewarden/code-cache beside the store).
  size_t cachedFiles() const {
    size_t n = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir_ / "kubewarden" / "code-cache", ec), end;
         !ec && it != end; it.increment(ec)) {
      n += it->is_regular_file() ? 1 : 0;
    }
    return n;
  }

  fs::path dir_;
};

TEST_P(KwctlEngine, SameVerdict) {
  auto r = run("pod_privileged", engineFlag());
  ASSERT_EQ(r.status, 0) << slurp(dir_ / "stderr.txt");
  json j = result(r.out);
  EXPECT_EQ(j["uid"], "engine-uid") << r.out;
  EXPECT_EQ(j["allowed"], false);
  EXPECT_EQ(j["status"]["message"], "Privileged container is not allowed");
}

TEST_P(KwctlEngine, SameDeadlineText) {
  auto r = run("endless_loop", engineFlag() + " --timeout 1");
  json j = result(r.out);
  EXPECT_EQ(j["status"]["message"],
            "internal server error: Guest call failure: guest code interrupted, execution "
            "deadline exceeded")
      << r.out << slurp(dir_ / "stderr.txt");
}

TEST_P(KwctlEngine, SameMemoryCapText) {
  auto r = run("memory_hog", engineFlag() + " --memory-limit-mib 16");
  std::string message = result(r.out)["status"].value("message", "");
  EXPECT_NE(message.find("memory.grow refused after"), std::string::npos) << r.out;
}

TEST_P(KwctlEngine, TheEnvironmentVariableChoosesToo) {
  auto r = run("pod_privileged", "", "KUBEWARDEN_ENGINE=" + GetParam());
  ASSERT_EQ(r.status, 0) << slurp(dir_ / "stderr.txt");
  EXPECT_EQ(result(r.out)["allowed"], false);
}

TEST_P(KwctlEngine, AnUnknownEngineIsOneClearError) {
  auto r = run("pod_privileged", "--engine spidermonkey");
  EXPECT_NE(r.status, 0);
  std::string err = slurp(dir_ / "stderr.txt");
  EXPECT_EQ(err.rfind("Error: unknown engine `spidermonkey`: this build has ", 0), 0u) << err;
  for (const auto& name : test::engineNames()) EXPECT_NE(err.find(name), std::string::npos) << err;
}

// Issue 16's CLI comparison: upstream's --disable-wasmtime-cache (run and bench) was refused as
// an unknown flag (exit 109). It is accepted, and wasmtime then neither reads nor writes the code
// cache; without it, wasmtime leaves the compiled module there (V8 has no code cache).
TEST_P(KwctlEngine, DisableWasmtimeCacheKeepsTheCodeCacheEmpty) {
  auto r = run("pod_privileged", engineFlag() + " --disable-wasmtime-cache");
  ASSERT_EQ(r.status, 0) << slurp(dir_ / "stderr.txt");
  EXPECT_EQ(result(r.out)["allowed"], false) << r.out;
  auto bench =
      run("pod_privileged", engineFlag() + " --disable-wasmtime-cache --iterations 2", "", "bench");
  EXPECT_EQ(bench.status, 0) << slurp(dir_ / "stderr.txt");
  EXPECT_EQ(cachedFiles(), 0u);

  ASSERT_EQ(run("pod_privileged", engineFlag()).status, 0) << slurp(dir_ / "stderr.txt");
  EXPECT_EQ(cachedFiles(), GetParam() == "wasmtime" ? 1u : 0u);
}

KW_INSTANTIATE_FOR_ENGINES(KwctlEngine);

}  // namespace
}  // namespace kw::kwctl
