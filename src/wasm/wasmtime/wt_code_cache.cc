#include "wasm/wasmtime/wt_code_cache.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/sha256.h"

namespace kw::wasm::wt {
namespace {

namespace fs = std::filesystem;

// Entry layout: "<magic>\n<settings id>\n<sha256 of payload>\n" then the payload
// (wasmtime_module_serialize's bytes).
constexpr std::string_view kMagic = "kubewarden-cpp wasmtime code cache v1";

std::span<const uint8_t> bytesOf(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::optional<std::string> readAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

// The payload of a well-formed entry written for these settings, or nullopt.
std::optional<std::string_view> payloadOf(std::string_view entry, std::string_view settings_id) {
  std::string_view rest = entry;
  auto line = [&rest]() -> std::optional<std::string_view> {
    auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    auto l = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    return l;
  };
  auto magic = line();
  auto settings = line();
  auto checksum = line();
  if (!magic || *magic != kMagic || !settings || *settings != settings_id || !checksum) {
    return std::nullopt;
  }
  if (sha256Hex(bytesOf(rest)) != *checksum) return std::nullopt;
  return rest;
}

}  // namespace

CodeCache::CodeCache(fs::path dir, const std::string& settings_id)
    : dir_(std::move(dir) / settings_id), settings_id_(settings_id) {}

fs::path CodeCache::entryPath(const std::string& sha256) const { return dir_ / (sha256 + ".cwasm"); }

ModulePtr CodeCache::load(wasm_engine_t* engine, const std::string& sha256) const {
  fs::path path = entryPath(sha256);
  auto entry = readAll(path);
  if (!entry) return nullptr;
  wasmtime_module_t* module = nullptr;
  if (auto payload = payloadOf(*entry, settings_id_)) {
    auto bytes = bytesOf(*payload);
    ErrorPtr error(wasmtime_module_deserialize(engine, bytes.data(), bytes.size(), &module));
    if (error) module = nullptr;
  }
  if (!module) {
    std::error_code ec;
    fs::remove(path, ec);
  }
  return ModulePtr(module);
}

void CodeCache::store(const std::string& sha256, const wasmtime_module_t* module) const {
  wasm_byte_vec_t serialized;
  ErrorPtr error(wasmtime_module_serialize(module, &serialized));
  if (error) return;
  std::string_view payload(serialized.data, serialized.size);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  // Written aside and renamed into place, so a reader never sees half an entry, and two
  // processes storing the same module at once both leave a whole one.
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = dir_ / (sha256 + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kMagic << '\n' << settings_id_ << '\n' << sha256Hex(bytesOf(payload)) << '\n' << payload;
    out.close();
    if (!out) {
      wasm_byte_vec_delete(&serialized);
      fs::remove(tmp, ec);
      return;
    }
  }
  wasm_byte_vec_delete(&serialized);
  fs::rename(tmp, entryPath(sha256), ec);
  if (ec) fs::remove(tmp, ec);
}

}  // namespace kw::wasm::wt
