#include "store/store.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <system_error>

#include "oci/digest.h"

namespace kw::store {
namespace fs = std::filesystem;
namespace {

constexpr std::array<std::string_view, 3> kRemoteSchemes = {"registry", "https", "http"};

bool isRemoteScheme(std::string_view s) {
  return std::find(kRemoteSchemes.begin(), kRemoteSchemes.end(), s) != kRemoteSchemes.end();
}

// Files that downloads write before their atomic rename start with this; list() skips them.
bool isTemporary(const fs::path& p) {
  return p.filename().string().rfind(".kw-tmp-", 0) == 0;
}

// The store path relative to the root, as upstream's policy-fetcher derives it from the URL:
// scheme, then host[:port], then each path segment verbatim (tags and digests stay in the
// last segment, e.g. "policy:v1" or "policy@sha256:…").
Result<fs::path> relativePath(const std::string& uri) {
  auto sep = uri.find("://");
  if (sep == std::string::npos) {
    return makeError(fmt::format("cannot store \"{}\": not a registry:// or http(s):// URL", uri));
  }
  std::string scheme = uri.substr(0, sep);
  if (!isRemoteScheme(scheme)) {
    return makeError(fmt::format("cannot store \"{}\": unsupported scheme {}", uri, scheme));
  }
  std::string rest = uri.substr(sep + 3);
  if (scheme != "registry") rest = rest.substr(0, rest.find_first_of("?#"));
  auto slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  if (host.empty() || slash == std::string::npos || slash + 1 == rest.size()) {
    return makeError(fmt::format("cannot store \"{}\": the URL needs a host and a path", uri));
  }
  if (scheme != "registry") {
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return std::tolower(c); });
  }
  fs::path out = fs::path(scheme) / host;
  std::string_view path = std::string_view(rest).substr(slash + 1);
  while (!path.empty()) {
    auto next = path.find('/');
    std::string_view segment = path.substr(0, next);
    if (segment.empty() || segment == "." || segment == "..") {
      return makeError(fmt::format("cannot store \"{}\": empty, '.' or '..' path segment", uri));
    }
    out /= std::string(segment);
    if (next == std::string_view::npos) break;
    path.remove_prefix(next + 1);
  }
  return out;
}

bool isHexPrefix(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

fs::path homeDir() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return fs::current_path();
}

}  // namespace

Store::Store(std::optional<fs::path> root) : root_(root ? *root : defaultRoot()) {}

fs::path Store::defaultRoot() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  fs::path cache =
      (xdg && *xdg && fs::path(xdg).is_absolute()) ? fs::path(xdg) : homeDir() / ".cache";
  return cache / "kubewarden" / "store";
}

Result<fs::path> Store::pathFor(const std::string& uri) const {
  auto rel = relativePath(uri);
  if (!rel) return rel.error();
  return root_ / *rel;
}

Result<std::vector<StoredPolicy>> Store::list() const {
  std::vector<StoredPolicy> out;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return out;
  for (std::string_view scheme : kRemoteSchemes) {
    fs::path scheme_dir = root_ / std::string(scheme);
    if (!fs::is_directory(scheme_dir, ec)) continue;
    fs::recursive_directory_iterator it(scheme_dir, ec), end;
    if (ec) return makeError(fmt::format("cannot list {}: {}", scheme_dir.string(), ec.message()));
    for (; it != end; it.increment(ec)) {
      if (ec) return makeError(fmt::format("cannot list {}: {}", root_.string(), ec.message()));
      if (!it->is_regular_file(ec) || isTemporary(it->path())) continue;
      fs::path rel = fs::relative(it->path(), scheme_dir, ec);
      auto sha = oci::sha256File(it->path());
      if (!sha) return sha.error();
      StoredPolicy policy;
      policy.uri = std::string(scheme) + "://" + rel.generic_string();
      policy.path = it->path();
      policy.sha256 = *sha;
      policy.size = fs::file_size(it->path(), ec);
      out.push_back(std::move(policy));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const StoredPolicy& a, const StoredPolicy& b) { return a.uri < b.uri; });
  return out;
}

Result<StoredPolicy> Store::find(const std::string& uri_or_sha_prefix) const {
  auto all = list();
  if (!all) return all.error();
  for (const auto& p : *all) {
    if (p.uri == uri_or_sha_prefix) return p;
  }
  if (!isHexPrefix(uri_or_sha_prefix)) {
    return makeError(
        fmt::format("policy {} not found in the store {}", uri_or_sha_prefix, root_.string()));
  }
  std::vector<const StoredPolicy*> matches;
  for (const auto& p : *all) {
    if (p.sha256.rfind(uri_or_sha_prefix, 0) == 0) matches.push_back(&p);
  }
  if (matches.empty()) {
    return makeError(fmt::format("no policy in the store {} has a SHA-256 starting with {}",
                                 root_.string(), uri_or_sha_prefix));
  }
  // Two URIs with the same content are still one module; the prefix is ambiguous only when the
  // contents differ.
  bool same = std::all_of(matches.begin(), matches.end(),
                          [&](const StoredPolicy* p) { return p->sha256 == matches[0]->sha256; });
  if (matches.size() > 1 && !same) {
    std::string names;
    for (const auto* p : matches) names += (names.empty() ? "" : ", ") + p->uri;
    return makeError(
        fmt::format("SHA-256 prefix {} is ambiguous: it matches {}", uri_or_sha_prefix, names));
  }
  return *matches[0];
}

Status Store::remove(const std::string& uri_or_sha_prefix) const {
  auto found = find(uri_or_sha_prefix);
  if (!found) return found.error();
  std::error_code ec;
  if (!fs::remove(found->path, ec) || ec) {
    return makeError(fmt::format("cannot remove {}: {}", found->path.string(),
                                 ec ? ec.message() : "file vanished"));
  }
  // Prune folders left empty, never the root itself.
  fs::path canonical_root = fs::weakly_canonical(root_, ec);
  for (fs::path dir = found->path.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::weakly_canonical(dir, ec) == canonical_root || !fs::is_empty(dir, ec) || ec) break;
    fs::remove(dir, ec);
    if (ec) break;
  }
  return okStatus();
}

}  // namespace kw::store
