#include "support/test_env.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace kw::test {

std::filesystem::path guestDir() { return KW_GUEST_DIR; }
std::filesystem::path guestPath(const std::string& name) { return guestDir() / (name + ".wasm"); }
std::filesystem::path testWasmDir() { return KW_TEST_WASM_DIR; }
std::filesystem::path sharedDir() { return KW_SHARED_DIR; }
bool haveShared() { return std::filesystem::exists(sharedDir() / "fixtures"); }
std::filesystem::path binDir() { return KW_BIN_DIR; }
std::filesystem::path sourceDir() { return KW_SOURCE_DIR; }

std::vector<uint8_t> readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

CommandResult runCommand(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace kw::test
