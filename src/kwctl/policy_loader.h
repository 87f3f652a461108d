// What `run` and `bench` share: their common flags, reading the policy, the settings and the
// request, and choosing the execution mode (metadata first, then -e, then detection).
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "admission/admission_response.h"
#include "common/file_read.h"
#include "kw/wasm/engine.h"
#include "kwctl/host_flags.h"
#include "kwctl/remote.h"
#include "policy/evaluator.h"

namespace kw::kwctl {

struct RunFlags {
  std::string uri;
  std::string request_path;
  std::string settings_json;
  std::string settings_path;
  std::string execution_mode;
  bool raw = false;
  double timeout_seconds = 0;  // 0: no deadline, as upstream kwctl
  uint64_t memory_limit_mib = 256;
  std::string engine = wasm::engineNames().front();  // --engine / KUBEWARDEN_ENGINE
  bool disable_code_cache = false;                   // --disable-wasmtime-cache: compile every time
  RemoteFlags remote;  // registry:// and https:// policies are pulled into the store first
  VerificationFlags verification;
  HostFlags host;  // --allow-context-aware, record/replay of host capability calls
};

void addRunFlags(CLI::App& cmd, RunFlags& flags);

// Everything needed to evaluate: the evaluator, the policy, and the request.
struct Prepared {
  std::shared_ptr<wasm::Engine> engine;
  std::unique_ptr<KwctlHost> host;  // the host capabilities the policy may call
  std::unique_ptr<policy::Evaluator> evaluator;
  policy::PolicyConfig config;
  std::string request_json;
  admission::Json request;
  std::string uid;
};

// `tier`: run compiles for a quick single evaluation; bench for steady-state speed.
Result<std::unique_ptr<Prepared>> prepare(const RunFlags& flags, wasm::CompileTier tier);

// A file's bytes, at most `max_bytes`; "-" reads stdin. `file://` is stripped. A folder or an
// endless device (/dev/zero) is an error, not an exception or a runaway read.
Result<std::string> readInput(const std::string& path, uint64_t max_bytes = kMaxTextFileBytes);
std::string localPath(const std::string& uri);

// Where run and bench keep compiled modules: code-cache/ beside the store.
std::filesystem::path codeCacheDir();

}  // namespace kw::kwctl
