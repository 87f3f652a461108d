// scripts/images.sh (what `make images` runs): each image is built without a container engine,
// pushed to a local docker-registry, pulled back, unpacked, and its entrypoint started from the
// unpacked root filesystem (chroot, mounted read-only, as the image's user).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "oci/reference.h"
#include "oci/registry_client.h"
#include "support/cant_run.h"
#include "support/cluster_env.h"
#include "support/registry_process.h"
#include "support/server_process.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string readAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class Images : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    if (::geteuid() != 0) why = "chroot and mounts need root";
    auto registry_why = RegistryProcess::unavailableReason(RegistryProcess::Mode::Http);
    if (why.empty() && !registry_why.empty()) why = registry_why;
    if (!why.empty()) KW_CANT_RUN() << why;
    dir_ =
        fs::temp_directory_path() / ("kw-images-" + std::to_string(::getpid()) + "-" + GetParam());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Runs the image's entrypoint from `rootfs` in a mount namespace: the root filesystem bound
  // read-only, /proc mounted (a container runtime always provides it; LeakSanitizer needs it in
  // `make test-asan`), a tmpfs on /tmp (as Kubernetes mounts an emptyDir there), as uid 65532.
  static std::string chrootCommand(const fs::path& rootfs, const std::string& prepare,
                                   const std::string& command) {
    std::string r = rootfs.string();
    return "unshare -m sh -c 'set -e; mount --bind " + r + " " + r + "; mkdir -p " + r +
           "/proc; mount -o remount,bind,ro " + r + " " + r + "; mount -t proc proc " + r +
           "/proc; mount -t tmpfs -o mode=1777 tmpfs " + r + "/tmp; " + prepare +
           " exec chroot --userspec=65532:65532 " + r + " " + command + "'";
  }

  fs::path dir_;
};

TEST_P(Images, BuiltPushedAndStartedFromTheirRootFilesystem) {
  const std::string name = GetParam();
  fs::path build = binDir().parent_path();
  ASSERT_TRUE(fs::exists(build / "bin" / name)) << build / "bin" / name << " is not built";
  RegistryProcess registry(RegistryProcess::Mode::Http);
  ASSERT_TRUE(registry.ready()) << registry.error();

  std::string target = registry.host() + "/kubewarden";
  auto built =
      runCommand("bash '" + (sourceDir() / "scripts" / "images.sh").string() + "' --build-dir '" +
                 build.string() + "' --push " + target + " " + name + " 2>&1");
  ASSERT_EQ(built.status, 0) << built.out;
  std::istringstream line(built.out);
  std::string printed_name, reference;
  uint64_t compressed = 0, unpacked = 0;
  line >> printed_name >> reference >> compressed >> unpacked;
  ASSERT_EQ(printed_name, name) << built.out;
  std::printf("%s: %s, %.1f MB compressed, %.1f MB unpacked\n", name.c_str(), reference.c_str(),
              compressed / 1e6, unpacked / 1e6);

  // Pulled back from the registry: the config says who runs what, with the OCI labels.
  auto ref = oci::parseReference(reference.substr(0, reference.find('@')));
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  oci::RegistryClient client(registry.clientOptions());
  auto manifest_bytes = client.fetchManifest(*ref);
  ASSERT_TRUE(manifest_bytes.ok()) << manifest_bytes.error().message;
  EXPECT_EQ(manifest_bytes->digest, reference.substr(reference.find('@') + 1));
  json manifest = json::parse(manifest_bytes->bytes);
  auto config_text = client.fetchBlob(*ref, manifest["config"]["digest"]);
  ASSERT_TRUE(config_text.ok()) << config_text.error().message;
  json config = json::parse(*config_text);
  EXPECT_EQ(config["config"]["User"], "65532:65532");
  EXPECT_EQ(config["config"]["Entrypoint"], json::array({"/" + name}));
  const auto& labels = config["config"]["Labels"];
  EXPECT_EQ(labels["org.opencontainers.image.revision"],
            runCommand("git -C '" + sourceDir().string() + "' rev-parse HEAD | tr -d '\\n'").out);
  EXPECT_EQ(labels["org.opencontainers.image.version"].get<std::string>().rfind("v", 0), 0u);
  EXPECT_FALSE(labels["org.opencontainers.image.source"].get<std::string>().empty());
  ASSERT_EQ(manifest["layers"].size(), 1u);
  EXPECT_EQ(manifest["layers"][0]["size"].get<uint64_t>() +
                manifest["config"]["size"].get<uint64_t>() + manifest_bytes->bytes.size(),
            compressed);

  fs::path layer = dir_ / "layer.tar.gz";
  auto pulled = client.downloadBlob(*ref, manifest["layers"][0]["digest"], layer);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  fs::path rootfs = dir_ / "rootfs";
  fs::create_directories(rootfs);
  auto untar = runCommand("tar -xzf '" + layer.string() + "' -C '" + rootfs.string() + "' 2>&1");
  ASSERT_EQ(untar.status, 0) << untar.out;
  EXPECT_NE(readAll(rootfs / "etc" / "passwd").find(":65532:65532:"), std::string::npos);
  EXPECT_TRUE(fs::exists(rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt"));

  // Nothing but the image: the binary runs with only what the layer holds (the loader finds
  // every library). The controller has no --version (upstream's has none either): --help.
  std::string flag = name == "kubewarden-controller" ? " --help" : " --version";
  auto version = runCommand(chrootCommand(rootfs, "", "/" + name + flag) + " 2>&1");
  EXPECT_EQ(version.status, 0) << version.out;
  EXPECT_FALSE(version.out.empty());
  EXPECT_FALSE(fs::exists(rootfs / "work")) << "a build path leaked into the image";
  if (name != "policy-server") return;

  // The policy-server serves /readiness from its image, as the image's user, on a read-only root.
  uint16_t port = freePort();
  ASSERT_NE(port, 0);
  std::string prepare = "echo {} > " + (rootfs / "tmp" / "policies.yml").string() + ";";
  fs::path log = dir_ / "policy-server.log";
  pid_t pid = spawnLogged(
      {"/bin/sh", "-c",
       "exec " + chrootCommand(rootfs, prepare,
                               "/policy-server --addr 127.0.0.1 --port " + std::to_string(port) +
                                   " --policies /tmp/policies.yml"
                                   " --policies-download-dir /tmp")},
      log);
  ASSERT_GT(pid, 0);
  struct Stop {
    pid_t pid;
    ~Stop() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } stop{pid};
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/readiness";
  EXPECT_TRUE(waitFor([&] {
    return runCommand("curl -sf -o /dev/null '" + url + "'").status == 0;
  })) << readAll(log);
  // Both shells, unshare and chroot exec into the next, so `pid` is the policy-server itself.
  std::string status = readAll("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("Uid:\t65532\t65532"), std::string::npos) << status;
  std::string mounts = readAll("/proc/" + std::to_string(pid) + "/mountinfo");
  std::istringstream mount_lines(mounts);
  bool root_read_only = false;
  for (std::string entry; std::getline(mount_lines, entry);) {
    std::istringstream fields(entry);
    std::string id, parent, dev, root, point, options;
    fields >> id >> parent >> dev >> root >> point >> options;
    // Paths are as the chrooted process sees them: its root filesystem is "/".
    if (point == "/") root_read_only = options.rfind("ro,", 0) == 0;
  }
  EXPECT_TRUE(root_read_only) << mounts;
}

INSTANTIATE_TEST_SUITE_P(Binaries, Images,
                         ::testing::Values("policy-server", "kubewarden-controller",
                                           "audit-scanner"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace kw::test
