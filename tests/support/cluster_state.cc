#include "support/cluster_state.h"

#include <fstream>

namespace kw::test {

std::optional<ClusterState> readClusterState(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  ClusterState state;
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
      value = value.substr(1, value.size() - 2);
    state[line.substr(0, eq)] = value;
  }
  return state;
}

bool writeClusterState(const std::filesystem::path& file, const ClusterState& state) {
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# Written by kw-cluster (tests/cluster); sourceable by a shell.\n";
    for (const auto& [key, value] : state) {
      if (value.find_first_of("'\n") != std::string::npos) return false;
      out << key << "='" << value << "'\n";
    }
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  return !ec;
}

}  // namespace kw::test
