// Shared by the registry, fetcher and store tests that talk to a real docker-registry.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/test_env.h"

namespace kw::test {

// Our annotated pod_privileged guest when built, else the plain one (the client does not care).
inline std::filesystem::path pushablePolicy() {
  auto annotated = guestDir() / "annotated" / "pod_privileged.wasm";
  return std::filesystem::exists(annotated) ? annotated : guestPath("pod_privileged");
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder named after the running test, removed by the caller's fixture.
inline std::filesystem::path freshTestDir(const std::string& tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "-" + info->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  auto dir = std::filesystem::temp_directory_path() /
             ("kw-" + tag + "-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Every regular file below `dir` (temporary files included), for "nothing was left behind".
inline std::vector<std::string> filesUnder(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

}  // namespace kw::test
