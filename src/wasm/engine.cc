#include "kw/wasm/engine.h"

#include <algorithm>
#include <cstring>

namespace kw::wasm {

bool Caller::read(uint64_t ptr, uint64_t len, std::string& out) {
  auto view = memory(ptr, len);
  if (!view) return false;
  out.assign(reinterpret_cast<const char*>(view->data()), view->size());
  return true;
}

bool Caller::write(uint64_t ptr, std::span<const uint8_t> bytes) {
  auto view = memory(ptr, bytes.size());
  if (!view) return false;
  if (!bytes.empty()) std::memcpy(view->data(), bytes.data(), bytes.size());
  return true;
}

bool Caller::write(uint64_t ptr, std::string_view bytes) {
  return write(ptr, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

// Wasm is little-endian; so is every host we build for, but say so explicitly.
std::optional<uint32_t> Caller::readU32(uint64_t ptr) {
  auto view = memory(ptr, 4);
  if (!view) return std::nullopt;
  const uint8_t* p = view->data();
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

bool Caller::writeU32(uint64_t ptr, uint32_t v) {
  uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
  return write(ptr, std::span<const uint8_t>(b, 4));
}

bool Caller::writeU64(uint64_t ptr, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = uint8_t(v >> (8 * i));
  return write(ptr, std::span<const uint8_t>(b, 8));
}

const HostFunction* ImportSet::find(std::string_view module, std::string_view name) const {
  for (const auto& f : functions_) {
    if (f.module == module && f.name == name) return &f;
  }
  return nullptr;
}

bool CompiledModule::hasExport(std::string_view name) const {
  const auto& e = exports();
  return std::find(e.begin(), e.end(), name) != e.end();
}

std::string_view toString(FailKind kind) {
  switch (kind) {
    case FailKind::Trap: return "trap";
    case FailKind::Timeout: return "timeout";
    case FailKind::Exit: return "exit";
    case FailKind::HostError: return "host error";
    case FailKind::Instantiate: return "instantiation failure";
    case FailKind::NotFound: return "not found";
  }
  return "unknown";
}

}  // namespace kw::wasm
