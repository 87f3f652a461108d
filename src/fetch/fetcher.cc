#include "fetch/fetcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "oci/atomic_file.h"
#include "oci/digest.h"
#include "oci/http_transport.h"

namespace kw::fetch {
namespace fs = std::filesystem;
namespace {

enum class Kind { Registry, Http, File, Path };

Kind kindOf(const std::string& url) {
  if (url.rfind("registry://", 0) == 0) return Kind::Registry;
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) return Kind::Http;
  if (url.rfind("file://", 0) == 0) return Kind::File;
  return Kind::Path;
}

// file:///abs/path → /abs/path (file://localhost/abs/path too).
Result<fs::path> filePath(const std::string& url) {
  std::string rest = url.substr(7);
  if (rest.rfind("localhost/", 0) == 0) rest = rest.substr(9);
  if (rest.empty() || rest.front() != '/') {
    return makeError(fmt::format("invalid file URL {}: expected file:///absolute/path", url));
  }
  return fs::path(rest);
}

// Only a regular file is a module: a folder (file:///etc) or a device (file:///dev/zero) is
// named as such rather than reported missing, which would send the user looking elsewhere.
Result<fs::path> existingFile(const fs::path& path, const std::string& url) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (fs::is_regular_file(status)) return path;
  if (fs::is_directory(status)) {
    return makeError(fmt::format("policy file {} is a directory, not a file", url));
  }
  if (fs::exists(status)) {
    return makeError(fmt::format("policy file {} is not a regular file", url));
  }
  return makeError(fmt::format("policy file {} not found", url));
}

std::string lastSegment(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#", url.find("://") + 3));
  return path.substr(path.rfind('/') + 1);
}

}  // namespace

Fetcher::Fetcher(oci::ClientOptions options, store::Store store)
    : options_(std::move(options)), store_(std::move(store)), registry_(options_) {
  http_ = std::make_unique<oci::HttpTransport>(options_.sources, options_.verbose,
                                               options_.progress, options_.connect_timeout_seconds);
}

Fetcher::~Fetcher() = default;

Result<Fetched> Fetcher::fetch(const std::string& url, const fs::path& output) {
  Kind kind = kindOf(url);
  if (kind == Kind::Path && url.find("://") != std::string::npos) {
    return makeError(fmt::format(
        "unsupported URL scheme in {}: use registry://, https://, http:// or file://", url));
  }
  if (kind == Kind::File || kind == Kind::Path) {
    auto path = resolveLocal(url);
    if (!path) return path.error();
    return Fetched{*path, false};
  }

  std::optional<oci::Reference> ref;
  if (kind == Kind::Registry) {
    auto parsed = oci::parseReference(url);
    if (!parsed) return parsed.error();
    ref = *parsed;
  }
  fs::path dest;
  std::error_code ec;
  if (!output.empty()) {
    dest = fs::is_directory(output, ec) ? output / lastSegment(url) : output;
  } else {
    auto stored = store_.pathFor(url);
    if (!stored) return stored.error();
    dest = *stored;
    bool mutable_tag = ref && ref->digest.empty() && ref->tag == "latest";
    if (!mutable_tag && fs::is_regular_file(dest, ec)) {
      auto reusable = storedMatches(ref, dest);
      if (!reusable) return reusable.error();
      if (*reusable) return Fetched{dest, false};
    }
  }

  if (ref) {
    auto pulled = registry_.pullPolicy(*ref, dest);
    if (!pulled) return pulled.error();
  } else if (Status st = downloadHttp(url, dest); !st) {
    return st.error();
  }
  return Fetched{dest, true};
}

// A digest names content, so a store entry for a pinned reference is re-hashed against the
// layer of the manifest that digest names before it is reused: the file might have been written
// by an older pull that resolved the tag instead, or changed on disk since.
Result<bool> Fetcher::storedMatches(const std::optional<oci::Reference>& ref,
                                    const fs::path& stored) {
  if (!ref || ref->digest.empty()) return true;
  auto layer = registry_.policyLayer(*ref);
  if (!layer) {
    return makeError(fmt::format("cannot check the stored {} against {}: {}", stored.string(),
                                 ref->whole(), layer.error().message));
  }
  auto hex = oci::sha256File(stored);
  if (!hex) return hex.error();
  if ("sha256:" + *hex == layer->digest) return true;
  spdlog::warn("the stored {} is sha256:{}, not the module {} names ({}); pulling it again",
               stored.string(), *hex, ref->whole(), layer->digest);
  return false;
}

Status Fetcher::downloadHttp(const std::string& url, const fs::path& dest) {
  oci::AtomicWriteOptions write_options;
  write_options.require_wasm_magic = true;
  write_options.what = "the download " + url;
  auto written = oci::writeAtomically(
      dest,
      [&](const oci::ByteSink& sink) -> Status {
        oci::HttpRequest req;
        req.url = url;
        req.sink = sink;
        req.follow_redirects = true;
        req.report_progress = true;
        req.label = url;
        auto resp = http_->perform(req);
        if (!resp) return resp.error();
        if (resp->status != 200) {
          return makeError(
              fmt::format("cannot download {}: the server answered {}", url, resp->reason()));
        }
        return okStatus();
      },
      write_options);
  if (!written) return written.error();
  return okStatus();
}

Result<fs::path> Fetcher::resolveLocal(const std::string& uri_or_sha_prefix) const {
  switch (kindOf(uri_or_sha_prefix)) {
    case Kind::File: {
      auto path = filePath(uri_or_sha_prefix);
      if (!path) return path.error();
      return existingFile(*path, uri_or_sha_prefix);
    }
    case Kind::Registry:
    case Kind::Http: {
      auto path = store_.pathFor(uri_or_sha_prefix);
      if (!path) return path.error();
      std::error_code ec;
      if (!fs::is_regular_file(*path, ec)) {
        return makeError(fmt::format("policy {} is not in the store {}; pull it first",
                                     uri_or_sha_prefix, store_.root().string()));
      }
      return *path;
    }
    case Kind::Path:
      break;
  }
  std::error_code ec;
  if (fs::is_regular_file(uri_or_sha_prefix, ec)) return fs::path(uri_or_sha_prefix);
  bool hex = !uri_or_sha_prefix.empty() &&
             uri_or_sha_prefix.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex) return existingFile(uri_or_sha_prefix, uri_or_sha_prefix);
  auto found = store_.find(uri_or_sha_prefix);
  if (!found) return found.error();
  return found->path;
}

}  // namespace kw::fetch
