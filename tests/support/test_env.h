// Where tests find their inputs: our compiled guests, the read-only ../shared fixtures,
// and the built binaries.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kw::test {

std::filesystem::path guestDir();  // build/guest: our own compiled test policies
std::filesystem::path guestPath(const std::string& name);  // guestDir()/name.wasm
std::filesystem::path testWasmDir();                       // build/tests/wasm: engine-test guests
std::filesystem::path sharedDir();                         // ../shared (may be absent)
bool haveShared();               // false ⇒ conformance tests skip, saying so
std::filesystem::path binDir();  // build/bin
std::filesystem::path sourceDir();
std::vector<uint8_t> readFile(const std::filesystem::path& p);
// Standard base64 (padding optional) back to bytes, written independently of the encoders under
// test; "<invalid base64>" for characters outside the alphabet.
std::string base64Decode(const std::string& in);

// Runs a command through the shell; returns exit status and captures stdout (and stderr if asked).
struct CommandResult {
  int status = -1;
  std::string out;
};
CommandResult runCommand(const std::string& cmd);

// Starts `args[0]` with `args` (no shell), its stdout and stderr going to `log`; the child's pid.
// The servers the tests start (policy-server, docker-registry, kube-fake) all run this way.
int spawnLogged(std::vector<std::string> args, const std::filesystem::path& log);

}  // namespace kw::test
