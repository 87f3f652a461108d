// kwctl pull: download a policy into the store (or -o FILE). Quiet on success, as upstream;
// a progress bar on a terminal, the HTTP exchanges with -v.
#include <spdlog/spdlog.h>

#include "kwctl/commands.h"
#include "kwctl/progress.h"
#include "kwctl/remote.h"

namespace kw::kwctl {
namespace {

struct PullFlags {
  std::string uri;
  std::string output_path;
  RemoteFlags remote;
  VerificationFlags verification;
};

// Upstream always downloads again (a tag may have moved), so the store path is named
// explicitly instead of letting the fetcher reuse a stored copy.
std::filesystem::path destination(const fetch::Fetcher& fetcher, const PullFlags& f) {
  if (!f.output_path.empty() || !isRemote(f.uri)) return f.output_path;
  auto stored = fetcher.store().pathFor(f.uri);
  return stored ? *stored : std::filesystem::path();
}

int pull(const PullFlags& f) {
  if (auto ok = requireNoVerification(f.verification); !ok) return fail(ok.error().message);
  if (!isRemote(f.uri) && !f.uri.starts_with("file://")) {
    return fail(f.uri + ": cannot pull, the URI must start with registry://, https:// or file://");
  }
  ProgressBar bar("Pulling " + f.uri, ProgressBar::stderrIsTty());
  auto fetcher = makeFetcher(f.remote, bar.callback());
  if (!fetcher) return fail(fetcher.error().message);
  auto fetched = (*fetcher)->fetch(f.uri, destination(**fetcher, f));
  bar.finish();
  if (!fetched) return fail(fetched.error().message);
  spdlog::debug("{} pulled to {}", f.uri, fetched->path.string());
  return 0;
}

}  // namespace

void addPullCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("pull", "Pulls a Kubewarden policy from a given URI");
  auto flags = std::make_shared<PullFlags>();
  cmd->add_option("uri", flags->uri,
                  "Policy URI. Supported schemes: registry://, https://, file://")
      ->required();
  cmd->add_option("-o,--output-path", flags->output_path,
                  "Output file. If not provided will be downloaded to the Kubewarden store");
  addRemoteFlags(*cmd, flags->remote);
  addVerificationFlags(*cmd, flags->verification);
  cmd->callback([flags, &exit_code] { exit_code = pull(*flags); });
}

}  // namespace kw::kwctl
