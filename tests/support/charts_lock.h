// The CRDs of charts/kubewarden-crds are shared by every cluster test that uses them, and the
// Helm install test (charts_install_test.cc) installs and uninstalls them. A shared flock on
// <cluster dir>/charts.lock while a test uses them, an exclusive one while Helm owns them,
// keeps one from deleting what another is using; ctest runs these tests in parallel.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

namespace kw::test {

class ChartsLock {
 public:
  enum class Mode { kShared, kExclusive };
  // Blocks until the lock is held; held() is false if the file could not be opened.
  ChartsLock(const std::filesystem::path& cluster_dir, Mode mode)
      : fd_(::open((cluster_dir / "charts.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644)) {
    if (fd_ >= 0 && ::flock(fd_, mode == Mode::kShared ? LOCK_SH : LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~ChartsLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  ChartsLock(const ChartsLock&) = delete;
  ChartsLock& operator=(const ChartsLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace kw::test
