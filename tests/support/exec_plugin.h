// A kubeconfig exec credential plugin for tests: an sh script that counts its runs and prints an
// ExecCredential, with one token on its first run and another on every later run (to show a
// client recovering from a refused credential).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace kw::test {

struct TokenPlugin {
  std::filesystem::path script;
  std::filesystem::path runs_file;
  std::string api_version = "client.authentication.k8s.io/v1";

  int runs() const {
    std::ifstream in(runs_file);
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
};

// Writes <dir>/token-plugin.sh. `status_first`/`status_later` are ExecCredential statuses.
inline TokenPlugin writeTokenPlugin(
    const std::filesystem::path& dir, const nlohmann::json& status_first,
    const nlohmann::json& status_later,
    const std::string& api_version = "client.authentication.k8s.io/v1") {
  TokenPlugin plugin{dir / "token-plugin.sh", dir / "token-plugin.runs", api_version};
  auto answer = [&](const nlohmann::json& status) {
    nlohmann::json credential = {
        {"apiVersion", api_version}, {"kind", "ExecCredential"}, {"status", status}};
    return "cat <<'EOF'\n" + credential.dump() + "\nEOF\n";
  };
  std::ofstream(plugin.script) << "#!/bin/sh\n"
                               << "runs='" << plugin.runs_file.string() << "'\n"
                               << "later=\nif [ -s \"$runs\" ]; then later=1; fi\n"
                               << "echo run >> \"$runs\"\n"
                               << "if [ -z \"$later\" ]; then\n"
                               << answer(status_first) << "else\n"
                               << answer(status_later) << "fi\n";
  ::chmod(plugin.script.c_str(), 0755);
  return plugin;
}

// The kubeconfig `users[].user` YAML (indented for a `user:` key) running the plugin.
inline std::string execUserYaml(const TokenPlugin& plugin) {
  return "    exec:\n      apiVersion: " + plugin.api_version +
         "\n      command: " + plugin.script.string() + "\n      interactiveMode: Never\n";
}

}  // namespace kw::test
