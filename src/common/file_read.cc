#include "common/file_read.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kw {
namespace {

// Reads `fd` to its end, failing once more than `max_bytes` arrived.
Result<std::string> readAll(int fd, uint64_t max_bytes, const std::string& what) {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return out;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EISDIR) return makeError(fmt::format("{} is a directory, not a file", what));
      return makeError(fmt::format("cannot read {}: {}", what, std::strerror(errno)));
    }
    if (out.size() + static_cast<uint64_t>(n) > max_bytes) {
      return makeError(fmt::format("{} is larger than {} bytes", what, max_bytes));
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::string> readFileBounded(const std::filesystem::path& path, uint64_t max_bytes) {
  const std::string what = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return makeError(fmt::format("cannot read {}: {}", what, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return makeError(fmt::format("{} is a directory, not a file", what));
    }
    // A regular file says its size up front: refuse before reading any of it.
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
      ::close(fd);
      return makeError(fmt::format("{} is larger than {} bytes", what, max_bytes));
    }
  }
  auto text = readAll(fd, max_bytes, what);
  ::close(fd);
  return text;
}

Result<std::string> readModuleFile(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
    return makeError(fmt::format("{} is a device, not a WebAssembly module", path.string()));
  }
  return readFileBounded(path, kMaxModuleBytes);
}

Result<std::string> readStdinBounded(const std::string& what, uint64_t max_bytes) {
  return readAll(STDIN_FILENO, max_bytes, what);
}

}  // namespace kw
