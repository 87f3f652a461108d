// The in-memory WASI host (src/wasi/wasi_imports.cc), driven without an engine as
// tests/wasi/wasi_imports_test.cc does: a fake guest memory of 64 KiB and a sequence of calls
// with fuzzed arguments. Every pointer and length a guest passes is untrusted; the host must
// answer an errno or stop the guest, never touch memory outside the guest's.
//
// Input: two bytes giving the length of an image copied to the start of guest memory, the image,
// then calls: one byte picking the function, then per parameter one control byte (below 0x80:
// that small value; below 0xC0: the next two bytes; else the next 4 or 8 bytes as they are).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "kw/wasm/memory_caller.h"
#include "wasi/wasi_context.h"
#include "wasi/wasi_imports.h"

namespace {

using kw::wasm::ValType;
using kw::wasm::Value;

constexpr uint32_t kMemSize = 64 * 1024;
constexpr size_t kMaxCalls = 64;

kw::wasi::WasiContext* contextOf(void* host_data) {
  return static_cast<kw::wasi::WasiContext*>(host_data);
}

const kw::wasm::ImportSet& imports() {
  static const kw::wasm::ImportSet set = [] {
    kw::wasm::ImportSet s;
    kw::wasi::addWasiImports(s, contextOf);
    kw::wasi::addWasiUnstableAliases(s);
    return s;
  }();
  return set;
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t byte() { return empty() ? 0 : data_[pos_++]; }
  uint64_t raw(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(byte()) << (8 * i);
    return v;
  }
  std::span<const uint8_t> take(size_t n) {
    n = std::min(n, size_ - std::min(pos_, size_));
    std::span<const uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  Value value(ValType type) {
    const bool wide = type == ValType::I64 || type == ValType::F64;
    uint8_t c = byte();
    uint64_t v = c < 0x80 ? c : c < 0xC0 ? raw(2) : raw(wide ? 8 : 4);
    return wide ? Value::fromI64(static_cast<int64_t>(v))
                : Value::fromI32(static_cast<int32_t>(static_cast<uint32_t>(v)));
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

void kw::fuzz::prepare() {
  (void)imports();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& functions = imports().functions();
  Input in(data, size);
  kw::wasi::WasiContext ctx;
  ctx.setArgs({"policy.wasm", "--fuzz"});
  ctx.setEnv({"KEY=value"});
  ctx.setStdin("stdin bytes for fd_read");
  ctx.setOutputCap(4096);
  ctx.setMaxPollSleep(std::chrono::nanoseconds(0));  // poll_oneoff must not slow the run
  ctx.setRandomSource([](std::span<uint8_t> dst) {
    std::fill(dst.begin(), dst.end(), uint8_t{0x5a});
    return true;
  });
  kw::wasm::MemoryCaller caller(kMemSize, &ctx);
  auto image = in.take(in.raw(2) % 4096);
  std::copy(image.begin(), image.end(), caller.mem.begin());

  for (size_t calls = 0; calls < kMaxCalls && !in.empty() && caller.failures.empty(); ++calls) {
    const auto& fn = functions[in.byte() % functions.size()];
    std::vector<Value> args;
    for (ValType t : fn.type.params) args.push_back(in.value(t));
    auto results = fn.callback(caller, args);
    if (caller.failures.empty()) KW_FUZZ_CHECK(results.size() == fn.type.results.size());
  }
  return 0;
}
