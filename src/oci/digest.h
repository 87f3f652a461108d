// Incremental SHA-256 for content that must not be held in memory (policy blobs are streamed
// to disk while hashed), plus the OCI "sha256:<hex>" spelling.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw::oci {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void update(const void* data, size_t size);
  std::string hexDigest();  // finishes the stream; call once

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Lower-case hex SHA-256 of a file, read in chunks.
Result<std::string> sha256File(const std::filesystem::path& path);
// "sha256:" + hex of `bytes`.
std::string ociDigest(std::string_view bytes);

}  // namespace kw::oci
