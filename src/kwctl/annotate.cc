// kwctl annotate: embed a policy's metadata.yml (plus its README as the usage annotation) into
// the wasm module, in the custom section every Kubewarden component reads.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/file_read.h"
#include "kwctl/commands.h"
#include "policy/evaluator.h"
#include "policy/metadata.h"
#include "wasm/binary/module_binary.h"

namespace kw::kwctl {
namespace {

// Recorded in the io.kubewarden.kwctl annotation, where upstream puts its own version, so an
// annotated module tells which tool produced it.
constexpr std::string_view kKwctlVersion = "1.10.0-cpp";

// Asks a waPC policy which protocol it speaks, by running its protocol_version operation, as
// upstream kwctl does before it records the answer in the metadata.
Result<policy::ProtocolVersion> probeProtocolVersion(std::span<const uint8_t> wasm) {
  wasm::EngineOptions options;
  options.tier = wasm::CompileTier::Fast;
  auto engine = wasm::createV8Engine(options);
  auto compiled = engine->compile(wasm);
  if (!compiled) return compiled.error();
  policy::PolicyConfig config;
  config.id = "annotate";
  config.module = std::make_shared<policy::PolicyModule>(policy::PolicyModule{"", *compiled, {}});
  policy::Evaluator evaluator(engine, nullptr, std::chrono::seconds(10));
  auto answer = evaluator.protocolVersion(config);
  if (!answer) return answer.error();
  auto version = policy::protocolVersionFromString(*answer);
  if (!version || *version == policy::ProtocolVersion::Unknown) {
    return makeError(fmt::format("the policy answered an unknown protocol version `{}`", *answer));
  }
  return *version;
}

struct AnnotateFlags {
  std::string wasm_path;
  std::string metadata_path;
  std::string usage_path;
  std::string output_path;
};

Result<std::string> readText(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return makeError(fmt::format("cannot read {} '{}': it is a directory", what, path));
  }
  auto text = readModuleFile(path);
  if (!text)
    return makeError(fmt::format("cannot read {} '{}': {}", what, path, text.error().message));
  return text;
}

// Writes through a temporary file in the destination directory and renames it into place, so
// a reader (or a crash) never sees a half-written policy.
Status writeAtomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::string tmpl = path + ".tmp-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return makeError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  std::string tmp(name.data());
  auto failWith = [&](int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return makeError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  };

  // mkstemp creates the file 0600; give it the usual mode for a new file instead.
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0) return failWith(errno);

  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failWith(errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return failWith(errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return makeError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return makeError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  return okStatus();
}

int annotate(const AnnotateFlags& flags) {
  auto wasm_text = readText(flags.wasm_path, "policy");
  if (!wasm_text) return fail(wasm_text.error().message);
  std::span<const uint8_t> wasm(reinterpret_cast<const uint8_t*>(wasm_text->data()),
                                wasm_text->size());
  if (!wasm::binary::isWasm(wasm)) {
    return fail(fmt::format("'{}' is not a WebAssembly module", flags.wasm_path));
  }

  auto metadata_text = readText(flags.metadata_path, "metadata file");
  if (!metadata_text) return fail(metadata_text.error().message);
  auto parsed = policy::metadataFromYaml(*metadata_text);
  if (!parsed) {
    return fail(fmt::format("cannot parse metadata file '{}': {}", flags.metadata_path,
                            parsed.error().message));
  }
  policy::Metadata metadata = std::move(parsed).value();

  if (!flags.usage_path.empty()) {
    auto usage = readText(flags.usage_path, "usage file");
    if (!usage) return fail(usage.error().message);
    metadata.annotations[std::string(policy::kAnnotationUsage)] = std::move(*usage);
  }
  metadata.annotations[std::string(policy::kAnnotationKwctlVersion)] = std::string(kKwctlVersion);

  if (metadata.executionMode == policy::ExecutionMode::KubewardenWapc &&
      metadata.protocolVersion == policy::ProtocolVersion::Unknown) {
    auto version = probeProtocolVersion(wasm);
    if (!version) {
      return fail(fmt::format("cannot determine the protocol version of '{}': {}", flags.wasm_path,
                              version.error().message));
    }
    metadata.protocolVersion = *version;
  }

  if (auto valid = policy::validate(metadata); !valid) {
    return fail(
        fmt::format("invalid metadata in '{}': {}", flags.metadata_path, valid.error().message));
  }

  auto annotated = policy::writeMetadata(wasm, metadata);
  if (!annotated) {
    return fail(
        fmt::format("cannot annotate '{}': {}", flags.wasm_path, annotated.error().message));
  }
  if (auto written = writeAtomically(flags.output_path, *annotated); !written) {
    return fail(written.error().message);
  }
  return 0;
}

}  // namespace

void addAnnotateCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("annotate", "Add Kubewarden metadata to a WebAssembly module");
  auto flags = std::make_shared<AnnotateFlags>();
  cmd->add_option("wasm-path", flags->wasm_path, "Path to the WebAssembly module to annotate")
      ->required();
  cmd->add_option("-m,--metadata-path", flags->metadata_path,
                  "File containing the metadata (metadata.yml)")
      ->required();
  cmd->add_option("-u,--usage-path", flags->usage_path,
                  "File containing the usage information of the policy (e.g. README.md)");
  cmd->add_option("-o,--output-path", flags->output_path, "Where to write the annotated module")
      ->required();
  cmd->callback([flags, &exit_code] { exit_code = annotate(*flags); });
}

}  // namespace kw::kwctl
