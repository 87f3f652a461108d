#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace kw {
// Lower-case hex SHA-256, as OCI digests and Kubewarden's store print it.
std::string sha256Hex(std::span<const uint8_t> bytes);
}  // namespace kw
