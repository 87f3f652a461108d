// kwctl policies: the store's modules as a table (Policy, Mutating, Context aware, SHA-256,
// Size), each row read from the module's own metadata. An empty store prints nothing.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>

#include "common/file_read.h"
#include "kwctl/commands.h"
#include "kwctl/progress.h"
#include "kwctl/table.h"
#include "policy/metadata.h"
#include "store/store.h"

namespace kw::kwctl {
namespace {

// (mutating, context aware) as upstream shows them; a module without metadata is "unknown".
std::pair<std::string, std::string> flagsOf(const std::filesystem::path& path) {
  auto read = readModuleFile(path);
  std::string bytes = read ? std::move(*read) : std::string();
  auto md =
      policy::readMetadata(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!md || !md->has_value()) return {"unknown", "no"};
  return {(*md)->mutating ? "yes" : "no", (*md)->contextAwareResources.empty() ? "no" : "yes"};
}

int listPolicies() {
  store::Store store;
  auto policies = store.list();
  if (!policies) return fail(policies.error().message);
  if (policies->empty()) return 0;
  std::vector<TableRow> rows;
  for (const auto& p : *policies) {
    auto [mutating, context_aware] = flagsOf(p.path);
    rows.push_back(
        {p.uri, mutating, context_aware, p.sha256.substr(0, 12), formatSize(double(p.size))});
  }
  std::cout << renderTable({"Policy", "Mutating", "Context aware", "SHA-256", "Size"}, rows);
  return 0;
}

}  // namespace

void addPoliciesCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("policies", "Lists all downloaded policies");
  cmd->callback([&exit_code] { exit_code = listPolicies(); });
}

}  // namespace kw::kwctl
