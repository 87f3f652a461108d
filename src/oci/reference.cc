#include "oci/reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace kw::oci {
namespace {

constexpr std::string_view kScheme = "registry://";
constexpr std::string_view kDockerHub = "docker.io";

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// One path component of a repository: lower-case alphanumerics joined by '.', '_', '__' or
// runs of '-', as in the distribution reference grammar.
bool validComponent(std::string_view c) {
  if (c.empty() || !isLowerAlnum(c.front()) || !isLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (isLowerAlnum(ch)) continue;
    if (ch == '-') continue;
    if (ch == '.' || ch == '_') {
      if (!isLowerAlnum(c[i - 1])) {
        // "__" is the only allowed double separator.
        if (!(ch == '_' && c[i - 1] == '_' && i >= 2 && isLowerAlnum(c[i - 2]))) return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t.front())) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool validDigest(std::string_view d) {
  constexpr std::string_view kAlg = "sha256:";
  if (d.substr(0, kAlg.size()) != kAlg || d.size() != kAlg.size() + 64) return false;
  return std::all_of(d.begin() + kAlg.size(), d.end(), isHex);
}

// host[:port]: letters, digits, '-', '.', and an optional numeric port (IPv6 is out of scope).
bool validHost(std::string_view h) {
  auto colon = h.find(':');
  std::string_view name = h.substr(0, colon);
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  if (colon == std::string_view::npos) return true;
  std::string_view port = h.substr(colon + 1);
  return !port.empty() && port.size() <= 5 &&
         std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Docker's rule: the first segment names a registry only if it looks like a host.
bool looksLikeRegistry(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         std::any_of(first.begin(), first.end(),
                     [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
}

Error invalid(std::string_view text, std::string_view why) {
  return makeError(fmt::format("invalid OCI reference \"{}\": {}", text, why));
}

}  // namespace

std::string Reference::apiHost() const {
  if (registry == kDockerHub || registry == "index.docker.io") return "registry-1.docker.io";
  return registry;
}

std::string Reference::manifestRef() const {
  return digest.empty() ? tag : digest;
}

std::string Reference::whole() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<Reference> parseReference(std::string_view text) {
  std::string_view rest = text;
  if (rest.substr(0, kScheme.size()) == kScheme) rest.remove_prefix(kScheme.size());
  if (rest.empty()) return invalid(text, "it is empty");
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) {
    return invalid(text, "it contains whitespace");
  }

  Reference ref;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!validDigest(ref.digest)) {
      return invalid(text, "the digest must be sha256: followed by 64 lower-case hex digits");
    }
  }
  auto last_slash = rest.rfind('/');
  auto tag_colon = rest.rfind(':');
  if (tag_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || tag_colon > last_slash)) {
    ref.tag = std::string(rest.substr(tag_colon + 1));
    rest = rest.substr(0, tag_colon);
    if (!validTag(ref.tag)) return invalid(text, fmt::format("invalid tag \"{}\"", ref.tag));
  }
  if (rest.empty()) return invalid(text, "the repository name is missing");

  auto first_slash = rest.find('/');
  std::string_view path = rest;
  if (first_slash != std::string_view::npos && looksLikeRegistry(rest.substr(0, first_slash))) {
    ref.registry = std::string(rest.substr(0, first_slash));
    path = rest.substr(first_slash + 1);
    if (!validHost(ref.registry)) {
      return invalid(text, fmt::format("invalid registry host \"{}\"", ref.registry));
    }
  } else {
    ref.registry = std::string(kDockerHub);
  }
  if (ref.registry == "index.docker.io") ref.registry = std::string(kDockerHub);
  if (ref.registry == kDockerHub && path.find('/') == std::string_view::npos) {
    ref.repository = "library/" + std::string(path);
  } else {
    ref.repository = std::string(path);
  }

  if (ref.repository.size() + ref.registry.size() + 1 > 255) {
    return invalid(text, "the name is longer than 255 characters");
  }
  std::string_view repo = ref.repository;
  while (true) {
    auto slash = repo.find('/');
    std::string_view component = repo.substr(0, slash);
    if (!validComponent(component)) {
      bool upper = std::any_of(component.begin(), component.end(),
                               [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
      return invalid(text,
                     upper ? "the repository name must be lower-case"
                           : fmt::format("invalid repository path component \"{}\"", component));
    }
    if (slash == std::string_view::npos) break;
    repo.remove_prefix(slash + 1);
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace kw::oci
