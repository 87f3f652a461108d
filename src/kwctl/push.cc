// kwctl push: publish a policy (local file, store URI or SHA prefix) to an OCI registry as a
// Wasm artifact. Unannotated modules are refused unless --force, as upstream.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/file_read.h"
#include "kwctl/commands.h"
#include "kwctl/progress.h"
#include "kwctl/remote.h"
#include "oci/reference.h"
#include "policy/metadata.h"

namespace kw::kwctl {
namespace {

struct PushFlags {
  std::string policy;
  std::string uri;
  bool force = false;
  std::string output = "text";
  RemoteFlags remote;
};

Result<bool> isAnnotated(const std::filesystem::path& path) {
  auto read = readModuleFile(path);
  if (!read) return read.error();
  const std::string& bytes = *read;
  auto md =
      policy::readMetadata(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!md) return makeError(fmt::format("{}: {}", path.string(), md.error().message));
  return md->has_value();
}

int push(const PushFlags& f) {
  if (f.output != "text" && f.output != "json") {
    return fail(fmt::format("invalid output format '{}': use text or json", f.output));
  }
  std::string target = f.uri.starts_with("registry://") ? f.uri : "registry://" + f.uri;
  auto ref = oci::parseReference(target);
  if (!ref) return fail(ref.error().message);
  ProgressBar bar("Pushing " + target, ProgressBar::stderrIsTty());
  auto fetcher = makeFetcher(f.remote, bar.callback());
  if (!fetcher) return fail(fetcher.error().message);
  auto path = (*fetcher)->resolveLocal(f.policy);
  if (!path) return fail(path.error().message);
  auto annotated = isAnnotated(*path);
  if (!annotated) return fail(annotated.error().message);
  if (!*annotated && !f.force) {
    return fail(
        "Cannot push a policy that is not annotated. Use `annotate` command or `push "
        "--force`");
  }
  auto pushed = (*fetcher)->registry().pushPolicy(*ref, *path);
  bar.finish();
  if (!pushed) return fail(pushed.error().message);
  if (f.output == "json") {
    // Upstream writes the object without a trailing newline.
    std::cout << nlohmann::json{{"immutable_ref", pushed->reference}}.dump();
  } else {
    std::cout << "Policy successfully pushed: " << pushed->reference << "\n";
  }
  return 0;
}

}  // namespace

void addPushCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("push", "Pushes a Kubewarden policy to an OCI registry");
  auto flags = std::make_shared<PushFlags>();
  cmd->add_option("policy", flags->policy,
                  "Policy to push. Can be the path to a local file, a "
                  "policy URI or the SHA prefix of a policy in the store")
      ->required();
  cmd->add_option("uri", flags->uri, "Policy URI. Supported schemes: registry://")->required();
  cmd->add_flag("-f,--force", flags->force, "Push also a policy that is not annotated");
  cmd->add_option("-o,--output", flags->output, "Output format: text or json")
      ->capture_default_str();
  addRemoteFlags(*cmd, flags->remote);
  cmd->callback([flags, &exit_code] { exit_code = push(*flags); });
}

}  // namespace kw::kwctl
