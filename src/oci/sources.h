// sources.yml (spec §1.5): which registries may be reached over plain HTTP or unverified TLS,
// and which extra certificate authorities to trust per host[:port]. Shared by kwctl and the
// policy-server, which read the same file.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kw::oci {

struct SourceAuthority {
  enum class Type { Path, Data };
  Type type = Type::Data;
  std::string path;  // Type::Path: a PEM or DER file
  std::string data;  // Type::Data: inline PEM
};

struct Sources {
  std::set<std::string> insecure_sources;                                  // host[:port]
  std::map<std::string, std::vector<SourceAuthority>> source_authorities;  // host[:port] → CAs
};

// `source` names the file in error messages.
Result<Sources> parseSources(std::string_view text, std::string_view source);
Result<Sources> readSourcesFile(const std::filesystem::path& path);

}  // namespace kw::oci
