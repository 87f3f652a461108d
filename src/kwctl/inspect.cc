// kwctl inspect: show the Kubewarden metadata embedded in a policy module, either as a
// human-readable report or (-o yaml) as YAML that tools can parse.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/file_read.h"
#include "kwctl/commands.h"
#include "kwctl/remote.h"
#include "kwctl/signatures.h"
#include "policy/metadata.h"

namespace kw::kwctl {
namespace {

struct InspectFlags {
  std::string uri;
  std::string output;
  bool show_signatures = false;
  RemoteFlags remote;
};

Result<std::string> readPolicy(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return makeError(fmt::format("cannot read policy '{}': it is a directory", path));
  }
  auto bytes = readModuleFile(path);
  if (!bytes)
    return makeError(fmt::format("cannot read policy '{}': {}", path, bytes.error().message));
  return bytes;
}

// Multi-line values continue under the value column instead of at the left margin.
std::string indentContinuation(const std::string& value, size_t column) {
  std::string out;
  // A trailing newline (YAML `|` blocks end with one) would only add a blank row.
  std::string_view text = value;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  for (char c : text) {
    out += c;
    if (c == '\n') out.append(column, ' ');
  }
  return out;
}

using Rows = std::vector<std::pair<std::string, std::string>>;

size_t labelWidth(const Rows& rows) {
  size_t width = 0;
  for (const auto& [label, value] : rows) width = std::max(width, label.size());
  return width;
}

void printTable(std::ostream& out, const Rows& rows, size_t width) {
  for (const auto& [label, value] : rows) {
    out << label << std::string(width - label.size() + 1, ' ')
        << indentContinuation(value, width + 1) << "\n";
  }
}

// A YAML block between two rules, as upstream's Markdown renderer (mdcat) draws a fenced code
// block on a terminal at least 20 columns wide: the output reads the same as upstream's.
void printCodeBlock(std::ostream& out, const std::string& yaml) {
  std::string rule;
  for (int i = 0; i < 20; ++i) rule += "\u2500";  // ─
  out << rule << "\n" << yaml << rule << "\n";
}

void printReport(std::ostream& out, const policy::Metadata& m) {
  // The well-known annotations shown as details, with their labels, in upstream's order.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kDetails{{
      {policy::kAnnotationTitle, "title:"},
      {policy::kAnnotationDescription, "description:"},
      {policy::kAnnotationAuthor, "author:"},
      {policy::kAnnotationUrl, "url:"},
      {policy::kAnnotationSource, "source:"},
      {policy::kAnnotationLicense, "license:"},
  }};
  std::map<std::string, std::string> others = m.annotations;

  Rows details;
  for (const auto& [key, label] : kDetails) {
    auto it = others.find(std::string(key));
    if (it == others.end()) continue;
    details.emplace_back(label, it->second);
    others.erase(it);
  }
  details.emplace_back("mutating:", m.mutating ? "true" : "false");
  details.emplace_back("background audit support:", m.backgroundAudit ? "true" : "false");
  details.emplace_back("context aware:", m.contextAwareResources.empty() ? "false" : "true");
  details.emplace_back("policy type:", std::string(policy::toString(m.policyType)));
  details.emplace_back("execution mode:", std::string(policy::toString(m.executionMode)));
  // The protocol version is a waPC notion; other modes always record "Unknown".
  if (m.executionMode == policy::ExecutionMode::KubewardenWapc) {
    details.emplace_back("protocol version:", std::string(policy::toString(m.protocolVersion)));
  }
  if (m.minimumKubewardenVersion) {
    details.emplace_back("minimum kubewarden version:", *m.minimumKubewardenVersion);
  }
  std::optional<std::string> usage;
  if (auto it = others.find(std::string(policy::kAnnotationUsage)); it != others.end()) {
    usage = it->second;
    others.erase(it);
  }
  // Upstream prints details and annotations as one table, so both share the label column.
  Rows annotations(others.begin(), others.end());
  size_t width = std::max(labelWidth(details), labelWidth(annotations));
  out << "Details\n";
  printTable(out, details, width);
  if (!annotations.empty()) {
    out << "\nAnnotations\n";
    printTable(out, annotations, width);
  }

  // Each section ends with a blank line, as upstream's.
  out << "\nRules\n";
  printCodeBlock(out, policy::rulesToYaml(m.rules));
  out << "\n";

  if (!m.contextAwareResources.empty()) {
    out << "Context Aware\n"
        << "The policy requires access to the following Kubernetes resources at evaluation "
           "time:\n";
    printCodeBlock(out, policy::contextAwareResourcesToYaml(m.contextAwareResources));
    out << "To avoid abuses, review carefully what the policy requires access to.\n\n";
  }

  if (usage) {
    out << "Usage\n" << *usage;
    if (usage->empty() || usage->back() != '\n') out << "\n";
  }
}

// Signatures live next to the policy in its registry; a local file has none to show. With
// -o yaml stdout must stay parseable, so the notes go to stderr there.
void showSignatures(const InspectFlags& flags) {
  std::ostream& notes = flags.output == "yaml" ? std::cerr : std::cout;
  if (!flags.uri.starts_with("registry://")) {
    notes << "\nNo sigstore signatures: '" << flags.uri
          << "' is not in an OCI registry, signatures are only available for registry:// "
             "policies\n";
    return;
  }
  auto fetcher = makeFetcher(flags.remote);
  if (!fetcher) {
    notes << "\nCannot determine if the policy has been signed: " << fetcher.error().message
          << "\n";
    return;
  }
  auto signatures = fetchSignatures((*fetcher)->registry(), flags.uri);
  if (!signatures) {
    notes << "\nCannot determine if the policy has been signed. There was an error while "
             "attempting to fetch its signatures from the remote registry: "
          << signatures.error().message << "\n";
    return;
  }
  if (!signatures->has_value()) {
    notes << "\nNo sigstore signatures found\n";
    return;
  }
  notes << "\nSigstore signatures\n\n" << renderSignatures(**signatures);
}

int inspect(const InspectFlags& flags) {
  if (!flags.output.empty() && flags.output != "yaml") {
    return fail(fmt::format("invalid output format '{}': the only supported format is 'yaml'",
                            flags.output));
  }
  std::error_code ec;
  std::string local = flags.uri.starts_with("file://") ? flags.uri.substr(7) : flags.uri;
  Result<std::filesystem::path> path = std::filesystem::path(local);
  // A file that does not exist may still be a store URI or a SHA prefix.
  if (isRemote(flags.uri) || !std::filesystem::exists(local, ec)) {
    path = policyPath(flags.uri, flags.remote);
    if (!path) return fail(path.error().message);
  }
  auto bytes = readPolicy(path->string());
  if (!bytes) return fail(bytes.error().message);

  auto metadata = policy::readMetadata(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
  if (!metadata) {
    return fail(
        fmt::format("cannot read the metadata of '{}': {}", flags.uri, metadata.error().message));
  }
  if (!metadata->has_value()) {
    // Without metadata this is just a wasm module, not an annotated Kubewarden policy.
    return fail(
        fmt::format("No Kubewarden metadata found inside of '{}'.\nPolicies can be "
                    "annotated with the `kwctl annotate` command.",
                    flags.uri));
  }
  const policy::Metadata& m = **metadata;

  if (flags.output == "yaml") {
    std::cout << policy::metadataToYaml(m);
  } else {
    printReport(std::cout, m);
  }
  if (flags.show_signatures) showSignatures(flags);
  std::cout.flush();
  return 0;
}

}  // namespace

void addInspectCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Show the metadata of a Kubewarden policy");
  auto flags = std::make_shared<InspectFlags>();
  cmd->add_option("uri_or_sha_prefix", flags->uri,
                  "Policy to inspect: a local path, a file://, registry:// or https:// URI, or "
                  "the SHA prefix of a policy in the store")
      ->required();
  cmd->add_option("-o,--output", flags->output, "Output format: yaml (default: human readable)");
  cmd->add_flag("--show-signatures", flags->show_signatures,
                "Also show the sigstore signatures of the policy");
  addRemoteFlags(*cmd, flags->remote);
  cmd->callback([flags, &exit_code] { exit_code = inspect(*flags); });
}

}  // namespace kw::kwctl
