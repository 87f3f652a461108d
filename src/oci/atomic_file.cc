#include "oci/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "oci/digest.h"

namespace kw::oci {
namespace fs = std::filesystem;
namespace {

constexpr char kWasmMagic[4] = {'\0', 'a', 's', 'm'};

// Creates the missing folders of `dir`, remembering them so a failure can take them back.
Status createFolders(const fs::path& dir, std::vector<fs::path>& created) {
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (!fs::create_directory(*it, ec) && ec) {
      return makeError(fmt::format("cannot create folder {}: {}", it->string(), ec.message()));
    }
    created.push_back(*it);
  }
  return okStatus();
}

void removeFolders(const std::vector<fs::path>& created) {
  std::error_code ec;
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    if (fs::is_empty(*it, ec)) fs::remove(*it, ec);
  }
}

struct TempFile {
  std::string path;
  int fd = -1;
  bool keep = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!keep && !path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

Result<WrittenFile> writeAtomically(const fs::path& dest,
                                    const std::function<Status(const ByteSink&)>& fill,
                                    const AtomicWriteOptions& options) {
  fs::path dir = dest.parent_path().empty() ? fs::path(".") : dest.parent_path();
  std::vector<fs::path> created;
  if (Status st = createFolders(dir, created); !st) return st.error();

  auto result = [&]() -> Result<WrittenFile> {
    TempFile tmp;
    std::string pattern = (dir / (".kw-tmp-" + dest.filename().string() + ".XXXXXX")).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    tmp.fd = ::mkstemp(name.data());
    if (tmp.fd < 0 && errno == ENOENT) {
      // A concurrent failed download beside us pruned the folder we had just created.
      if (Status st = createFolders(dir, created); !st) return st.error();
      std::copy(pattern.begin(), pattern.end(), name.begin());
      tmp.fd = ::mkstemp(name.data());
    }
    if (tmp.fd < 0) {
      return makeError(fmt::format("cannot create a temporary file in {}: {}", dir.string(),
                                   std::strerror(errno)));
    }
    tmp.path = name.data();

    Sha256Stream hash;
    uint64_t size = 0;
    char head[4] = {1, 1, 1, 1};
    int write_errno = 0;
    ByteSink sink = [&](const char* data, size_t len) {
      for (size_t i = 0; i < len && size + i < 4; ++i) head[size + i] = data[i];
      hash.update(data, len);
      size += len;
      for (size_t off = 0; off < len;) {
        ssize_t n = ::write(tmp.fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          write_errno = errno;
          return false;
        }
        off += static_cast<size_t>(n);
      }
      return true;
    };
    Status filled = fill(sink);
    if (write_errno != 0) {
      return makeError(fmt::format("cannot write {}: {}", tmp.path, std::strerror(write_errno)));
    }
    if (!filled) return filled.error();

    WrittenFile out{"sha256:" + hash.hexDigest(), size};
    if (options.expected_digest && *options.expected_digest != out.digest) {
      return makeError(
          fmt::format("digest mismatch for blob {}: got {}", *options.expected_digest, out.digest));
    }
    if (options.require_wasm_magic && (size < 4 || std::memcmp(head, kWasmMagic, 4) != 0)) {
      return makeError(
          fmt::format("{} is not a WebAssembly module (it does not start with the "
                      "\\0asm magic bytes)",
                      options.what));
    }
    if (::fchmod(tmp.fd, 0644) != 0 || ::fsync(tmp.fd) != 0) {
      return makeError(fmt::format("cannot flush {}: {}", tmp.path, std::strerror(errno)));
    }
    ::close(tmp.fd);
    tmp.fd = -1;
    if (::rename(tmp.path.c_str(), dest.c_str()) != 0) {
      return makeError(
          fmt::format("cannot move the download to {}: {}", dest.string(), std::strerror(errno)));
    }
    tmp.keep = true;
    return out;
  }();
  if (!result) removeFolders(created);
  return result;
}

}  // namespace kw::oci
