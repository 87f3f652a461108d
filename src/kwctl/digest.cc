// kwctl digest: the manifest digest the registry reports, printed as `<uri>@sha256:…`.
#include <iostream>

#include "kwctl/commands.h"
#include "kwctl/remote.h"
#include "oci/reference.h"

namespace kw::kwctl {
namespace {

struct DigestFlags {
  std::string uri;
  RemoteFlags remote;
};

int digest(const DigestFlags& f) {
  auto ref = oci::parseReference(f.uri);
  if (!ref) return fail(ref.error().message);
  auto fetcher = makeFetcher(f.remote);
  if (!fetcher) return fail(fetcher.error().message);
  auto d = (*fetcher)->registry().manifestDigest(*ref);
  if (!d) return fail(d.error().message);
  std::cout << f.uri << "@" << *d << "\n";
  return 0;
}

}  // namespace

void addDigestCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("digest", "Fetch the digest of its OCI manifest");
  auto flags = std::make_shared<DigestFlags>();
  cmd->add_option("uri", flags->uri, "Policy URI")->required();
  addRemoteFlags(*cmd, flags->remote);
  cmd->callback([flags, &exit_code] { exit_code = digest(*flags); });
}

}  // namespace kw::kwctl
