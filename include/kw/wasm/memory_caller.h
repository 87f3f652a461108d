// A Caller over a plain byte vector: lets host imports (WASI, waPC) be driven without an engine,
// by the unit tests and the fuzz targets alike. Failures are recorded, not thrown.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kw/wasm/engine.h"

namespace kw::wasm {

class MemoryCaller : public Caller {
 public:
  MemoryCaller(size_t memory_size, void* host_data) : mem(memory_size), host_data_(host_data) {}

  std::optional<std::span<uint8_t>> memory(uint64_t ptr, uint64_t len) override {
    if (ptr > mem.size() || len > mem.size() - ptr) return std::nullopt;
    return std::span<uint8_t>(mem.data() + ptr, len);
  }
  void* hostData() override { return host_data_; }
  void fail(FailKind kind, std::string message, int32_t exit_code) override {
    failures.push_back(CallError{kind, std::move(message), exit_code});
  }

  std::vector<uint8_t> mem;
  std::vector<CallError> failures;

 private:
  void* host_data_;
};

}  // namespace kw::wasm
