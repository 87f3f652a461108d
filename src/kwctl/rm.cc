// kwctl rm: delete a policy from the store, by URI or SHA-256 prefix.
#include "kwctl/commands.h"
#include "store/store.h"

namespace kw::kwctl {

void addRmCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("rm", "Removes a Kubewarden policy from the store");
  auto uri = std::make_shared<std::string>();
  cmd->add_option("uri_or_sha_prefix", *uri, "Policy URI or SHA prefix")->required();
  cmd->callback([uri, &exit_code] {
    auto removed = store::Store().remove(*uri);
    exit_code = removed ? 0 : fail(removed.error().message);
  });
}

}  // namespace kw::kwctl
