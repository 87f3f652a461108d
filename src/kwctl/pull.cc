// kwctl pull: download a policy into the store (or -o FILE). Quiet on success, as upstream;
// a progress bar on a terminal, the HTTP exchanges with -v. With verification flags (or the
// default verification config) the signatures are checked first and the verified manifest is
// pulled by digest, so nothing unverified is ever written.
#include <spdlog/spdlog.h>

#include "kwctl/commands.h"
#include "kwctl/progress.h"
#include "kwctl/remote.h"
#include "kwctl/verification.h"

namespace kw::kwctl {
namespace {

struct PullFlags {
  std::string uri;
  std::string output_path;
  RemoteFlags remote;
  VerificationFlags verification;
};

// Upstream always downloads again (a tag may have moved), so the store path is named
// explicitly instead of letting the fetcher reuse a stored copy. Names come from the URI the
// user gave, even when a verified digest is what gets pulled.
std::filesystem::path destination(const fetch::Fetcher& fetcher, const PullFlags& f) {
  if (!isRemote(f.uri)) return f.output_path;
  auto stored = fetcher.store().pathFor(f.uri);
  if (f.output_path.empty()) return stored ? *stored : std::filesystem::path();
  std::error_code ec;
  if (stored && std::filesystem::is_directory(f.output_path, ec)) {
    return std::filesystem::path(f.output_path) / stored->filename();
  }
  return f.output_path;
}

int pull(const PullFlags& f) {
  if (!isRemote(f.uri) && !f.uri.starts_with("file://")) {
    return fail(f.uri + ": cannot pull, the URI must start with registry://, https:// or file://");
  }
  auto source = verifiedSource(f.uri, f.verification, f.remote);
  if (!source) return fail(source.error().message);
  ProgressBar bar("Pulling " + f.uri, ProgressBar::stderrIsTty());
  auto fetcher = makeFetcher(f.remote, bar.callback());
  if (!fetcher) return fail(fetcher.error().message);
  // The destination is named after the URI given, not the pinned digest.
  auto fetched = (*fetcher)->fetch(*source, destination(**fetcher, f));
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
