// kubeconfig files (src/kube/config.cc, kubeconfig_exec.cc) and what an exec credential plugin
// prints (src/kube/exec_credential.cc's parseExecCredential): both come from outside our
// control. loadKubeconfig reads a file, so each input is written to one file in a private
// temporary folder; nothing is written elsewhere and no plugin is run (loading only checks the
// exec block). Input: a selector byte (odd: a kubeconfig follows, even: the plugin's output).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "kube/config.h"
#include "kube/exec_credential.h"

namespace {

namespace fs = std::filesystem;

const fs::path& kubeconfigPath() {
  static const fs::path path = [] {
    std::string dir = (fs::temp_directory_path() / "kw-fuzz-kubeconfig-XXXXXX").string();
    if (!mkdtemp(dir.data())) kw::fuzz::broken("mkdtemp failed");
    return fs::path(dir) / "config";
  }();
  return path;
}

void removeTempDir() {
  std::error_code ec;
  fs::remove_all(kubeconfigPath().parent_path(), ec);
}

void kubeconfig(std::string_view text) {
  // Files the kubeconfig names are read as it says; devices and kernel files (/dev/zero, a
  // pipe) would only measure our read bound, so such inputs are left out.
  for (std::string_view special : {"/dev", "/proc", "/sys"}) {
    if (text.find(special) != std::string_view::npos) return;
  }
  {
    std::ofstream out(kubeconfigPath(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  auto config = kw::kube::loadKubeconfig(kubeconfigPath());
  if (!config) KW_FUZZ_CHECK(!config.error().message.empty());
}

void execCredential(std::string_view out) {
  kw::kube::ExecConfig exec;
  exec.api_version = "client.authentication.k8s.io/v1";
  exec.command = "fuzz-plugin";
  exec.user = "fuzz";
  auto credential = kw::kube::parseExecCredential(out, exec);
  if (!credential) KW_FUZZ_CHECK(!credential.error().message.empty());
}

}  // namespace

void kw::fuzz::prepare() {
  (void)kubeconfigPath();
  std::atexit(removeTempDir);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kw::fuzz::Selected in;
  if (!kw::fuzz::splitSelector(data, size, in)) return 0;
  std::string_view rest = in.rest;
  if (in.selector & 1) {
    kubeconfig(rest);
  } else {
    execCredential(rest);
  }
  return 0;
}
