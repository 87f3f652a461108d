// The in-memory WASI host, exercised without an engine: a MemoryCaller provides 64 KiB of linear
// memory and records failures, and each test invokes the registered callbacks directly.
#include "wasi/wasi_imports.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kw/wasm/memory_caller.h"
#include "wasi/wasi_abi.h"
#include "wasi/wasi_context.h"

namespace kw::wasi {
namespace {

using kw::wasm::CallError;
using kw::wasm::FailKind;
using kw::wasm::FuncType;
using kw::wasm::ValType;
using kw::wasm::Value;

constexpr uint32_t kMemSize = 64 * 1024;
constexpr uint32_t kBad = kMemSize - 2;  // in bounds, but no room for any struct
constexpr int32_t kSuccess = 0;

int32_t code(Errno e) {
  return static_cast<int32_t>(e);
}

using kw::wasm::MemoryCaller;

Value I(int64_t v) {
  return Value::fromI32(static_cast<int32_t>(v));
}
Value L(int64_t v) {
  return Value::fromI64(v);
}

WasiContext* contextOf(void* host_data) {
  return static_cast<WasiContext*>(host_data);
}

class WasiImportsTest : public ::testing::Test {
 protected:
  WasiImportsTest() : caller_(kMemSize, &ctx_) { addWasiImports(set_, contextOf); }

  const kw::wasm::HostFunction* fn(std::string_view name) { return set_.find(kModuleName, name); }

  std::vector<Value> invoke(std::string_view name, std::vector<Value> args) {
    const auto* f = fn(name);
    if (!f) {
      ADD_FAILURE() << "not registered: " << name;
      return {};
    }
    return f->callback(caller_, args);
  }

  // Calls an errno-returning function and returns the errno.
  int32_t call(std::string_view name, std::vector<Value> args) {
    auto r = invoke(name, std::move(args));
    EXPECT_EQ(r.size(), 1u) << name;
    return r.empty() ? -1 : r[0].i32;
  }

  uint32_t u32(uint32_t ptr) {
    uint32_t v;
    std::memcpy(&v, caller_.mem.data() + ptr, 4);
    return v;
  }
  uint64_t u64(uint32_t ptr) {
    uint64_t v;
    std::memcpy(&v, caller_.mem.data() + ptr, 8);
    return v;
  }
  uint16_t u16(uint32_t ptr) {
    uint16_t v;
    std::memcpy(&v, caller_.mem.data() + ptr, 2);
    return v;
  }
  void put32(uint32_t ptr, uint32_t v) { std::memcpy(caller_.mem.data() + ptr, &v, 4); }
  void put64(uint32_t ptr, uint64_t v) { std::memcpy(caller_.mem.data() + ptr, &v, 8); }
  void put16(uint32_t ptr, uint16_t v) { std::memcpy(caller_.mem.data() + ptr, &v, 2); }
  void putBytes(uint32_t ptr, std::string_view s) {
    std::memcpy(caller_.mem.data() + ptr, s.data(), s.size());
  }
  std::string bytes(uint32_t ptr, uint32_t len) {
    return std::string(reinterpret_cast<const char*>(caller_.mem.data() + ptr), len);
  }
  // Writes an iovec array at `at`; buffers are given as {ptr, len}.
  void putIovecs(uint32_t at, std::vector<std::pair<uint32_t, uint32_t>> iovs) {
    for (size_t i = 0; i < iovs.size(); ++i) {
      put32(at + i * 8, iovs[i].first);
      put32(at + i * 8 + 4, iovs[i].second);
    }
  }
  void putClockSub(uint32_t at, uint64_t userdata, uint32_t clock, uint64_t timeout,
                   uint16_t flags = 0) {
    std::memset(caller_.mem.data() + at, 0, kSubscriptionSize);
    put64(at, userdata);
    caller_.mem[at + 8] = kEventtypeClock;
    put32(at + 16, clock);
    put64(at + 24, timeout);
    put16(at + 40, flags);
  }
  void putFdSub(uint32_t at, uint64_t userdata, uint8_t type, uint32_t fd) {
    std::memset(caller_.mem.data() + at, 0, kSubscriptionSize);
    put64(at, userdata);
    caller_.mem[at + 8] = type;
    put32(at + 16, fd);
  }

  WasiContext ctx_;
  MemoryCaller caller_;
  kw::wasm::ImportSet set_;
};

// ---- signatures ----------------------------------------------------------------------------

// The preview1 signatures, lowered to core wasm, written out independently of the source.
std::map<std::string, FuncType> expectedSignatures() {
  const auto i = ValType::I32;
  const auto I = ValType::I64;
  const std::vector<ValType> err = {i};
  return {
      {"args_get", {{i, i}, err}},
      {"args_sizes_get", {{i, i}, err}},
      {"environ_get", {{i, i}, err}},
      {"environ_sizes_get", {{i, i}, err}},
      {"clock_res_get", {{i, i}, err}},
      {"clock_time_get", {{i, I, i}, err}},
      {"fd_advise", {{i, I, I, i}, err}},
      {"fd_allocate", {{i, I, I}, err}},
      {"fd_close", {{i}, err}},
      {"fd_datasync", {{i}, err}},
      {"fd_fdstat_get", {{i, i}, err}},
      {"fd_fdstat_set_flags", {{i, i}, err}},
      {"fd_fdstat_set_rights", {{i, I, I}, err}},
      {"fd_filestat_get", {{i, i}, err}},
      {"fd_filestat_set_size", {{i, I}, err}},
      {"fd_filestat_set_times", {{i, I, I, i}, err}},
      {"fd_pread", {{i, i, i, I, i}, err}},
      {"fd_prestat_get", {{i, i}, err}},
      {"fd_prestat_dir_name", {{i, i, i}, err}},
      {"fd_pwrite", {{i, i, i, I, i}, err}},
      {"fd_read", {{i, i, i, i}, err}},
      {"fd_readdir", {{i, i, i, I, i}, err}},
      {"fd_renumber", {{i, i}, err}},
      {"fd_seek", {{i, I, i, i}, err}},
      {"fd_sync", {{i}, err}},
      {"fd_tell", {{i, i}, err}},
      {"fd_write", {{i, i, i, i}, err}},
      {"path_create_directory", {{i, i, i}, err}},
      {"path_filestat_get", {{i, i, i, i, i}, err}},
      {"path_filestat_set_times", {{i, i, i, i, I, I, i}, err}},
      {"path_link", {{i, i, i, i, i, i, i}, err}},
      {"path_open", {{i, i, i, i, i, I, I, i, i}, err}},
      {"path_readlink", {{i, i, i, i, i, i}, err}},
      {"path_remove_directory", {{i, i, i}, err}},
      {"path_rename", {{i, i, i, i, i, i}, err}},
      {"path_symlink", {{i, i, i, i, i}, err}},
      {"path_unlink_file", {{i, i, i}, err}},
      {"poll_oneoff", {{i, i, i, i}, err}},
      {"proc_exit", {{i}, {}}},
      {"proc_raise", {{i}, err}},
      {"random_get", {{i, i}, err}},
      {"sched_yield", {{}, err}},
      {"sock_accept", {{i, i, i}, err}},
      {"sock_recv", {{i, i, i, i, i, i}, err}},
      {"sock_send", {{i, i, i, i, i}, err}},
      {"sock_shutdown", {{i, i}, err}},
  };
}

// "(i32 i64) -> (i32)": readable in failure messages.
std::string describe(const FuncType& t) {
  auto list = [](const std::vector<ValType>& v) {
    std::string s;
    for (ValType x : v)
      s += std::string(s.empty() ? "" : " ") + (x == ValType::I64 ? "i64" : "i32");
    return "(" + s + ")";
  };
  return list(t.params) + " -> " + list(t.results);
}

TEST_F(WasiImportsTest, EveryFunctionHasThePreview1Signature) {
  auto expected = expectedSignatures();
  std::set<std::string> seen;
  for (const auto& f : set_.functions()) {
    EXPECT_EQ(f.module, "wasi_snapshot_preview1");
    EXPECT_TRUE(seen.insert(f.name).second) << "registered twice: " << f.name;
    auto it = expected.find(f.name);
    ASSERT_NE(it, expected.end()) << "unexpected import " << f.name;
    EXPECT_EQ(describe(f.type), describe(it->second)) << f.name;
    EXPECT_TRUE(static_cast<bool>(f.callback)) << f.name;
  }
  EXPECT_EQ(seen.size(), expected.size());
}

TEST_F(WasiImportsTest, SpotCheckExactFuncTypes) {
  const auto i = ValType::I32;
  const auto I = ValType::I64;
  EXPECT_EQ(fn("clock_time_get")->type.params, (std::vector<ValType>{i, I, i}));
  EXPECT_EQ(fn("fd_seek")->type.params, (std::vector<ValType>{i, I, i, i}));
  EXPECT_EQ(fn("fd_seek")->type.results, (std::vector<ValType>{i}));
  EXPECT_EQ(fn("proc_exit")->type.params, (std::vector<ValType>{i}));
  EXPECT_TRUE(fn("proc_exit")->type.results.empty());
  EXPECT_EQ(fn("path_open")->type.params, (std::vector<ValType>{i, i, i, i, i, I, I, i, i}));
  EXPECT_TRUE(fn("sched_yield")->type.params.empty());
}

// ---- args / environ ----------------------------------------------------------------------

TEST_F(WasiImportsTest, ArgsSizesAndLayout) {
  ctx_.setArgs({"policy.wasm", "--flag", ""});
  ASSERT_EQ(call("args_sizes_get", {I(100), I(104)}), kSuccess);
  EXPECT_EQ(u32(100), 3u);
  EXPECT_EQ(u32(104), 12u + 7u + 1u);  // each string plus its NUL
  ASSERT_EQ(call("args_get", {I(200), I(300)}), kSuccess);
  EXPECT_EQ(u32(200), 300u);
  EXPECT_EQ(u32(204), 312u);
  EXPECT_EQ(u32(208), 319u);
  EXPECT_EQ(bytes(300, 20), std::string("policy.wasm\0--flag\0\0", 20));
}

TEST_F(WasiImportsTest, EnvironSizesAndLayout) {
  ctx_.setEnv({"A=1", "LONGER=value"});
  ASSERT_EQ(call("environ_sizes_get", {I(100), I(104)}), kSuccess);
  EXPECT_EQ(u32(100), 2u);
  EXPECT_EQ(u32(104), 4u + 13u);
  ASSERT_EQ(call("environ_get", {I(200), I(400)}), kSuccess);
  EXPECT_EQ(u32(200), 400u);
  EXPECT_EQ(u32(204), 404u);
  EXPECT_EQ(bytes(400, 17), std::string("A=1\0LONGER=value\0", 17));
}

TEST_F(WasiImportsTest, EmptyArgsAndEnv) {
  ASSERT_EQ(call("args_sizes_get", {I(100), I(104)}), kSuccess);
  EXPECT_EQ(u32(100), 0u);
  EXPECT_EQ(u32(104), 0u);
  EXPECT_EQ(call("environ_get", {I(200), I(300)}), kSuccess);
}

// ---- fd_write / fd_read --------------------------------------------------------------------

TEST_F(WasiImportsTest, FdWriteGathersIovecsToStdoutAndStderr) {
  putBytes(1000, "hello, ");
  putBytes(2000, "world");
  putBytes(3000, "\n");
  putIovecs(100, {{1000, 7}, {2000, 5}, {0, 0}, {3000, 1}});
  ASSERT_EQ(call("fd_write", {I(1), I(100), I(4), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 13u);
  EXPECT_EQ(ctx_.capturedStdout(), "hello, world\n");

  putIovecs(100, {{2000, 5}, {1000, 5}});
  ASSERT_EQ(call("fd_write", {I(2), I(100), I(2), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 10u);
  EXPECT_EQ(ctx_.capturedStderr(), "worldhello");
  EXPECT_EQ(ctx_.capturedStdout(), "hello, world\n");
  EXPECT_EQ(ctx_.takeStdout(), "hello, world\n");
  EXPECT_EQ(ctx_.capturedStdout(), "");
}

TEST_F(WasiImportsTest, FdWriteToStdinOrUnknownFdIsBadf) {
  putIovecs(100, {{1000, 3}});
  EXPECT_EQ(call("fd_write", {I(0), I(100), I(1), I(500)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_write", {I(3), I(100), I(1), I(500)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_write", {I(-1), I(100), I(1), I(500)}), code(Errno::BadF));
  EXPECT_EQ(ctx_.capturedStdout(), "");
}

TEST_F(WasiImportsTest, FdWriteBeyondCapIsShortThenFbig) {
  ctx_.setOutputCap(8);
  putBytes(1000, "0123456789");
  putIovecs(100, {{1000, 5}, {1000, 5}});
  ASSERT_EQ(call("fd_write", {I(1), I(100), I(2), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 8u);
  EXPECT_EQ(ctx_.capturedStdout(), "01234012");
  EXPECT_TRUE(ctx_.stdoutTruncated());
  EXPECT_EQ(call("fd_write", {I(1), I(100), I(1), I(500)}), code(Errno::FBig));
  // An empty write into a full stream is still fine, and stderr has its own budget.
  EXPECT_EQ(call("fd_write", {I(1), I(100), I(0), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 0u);
  EXPECT_EQ(call("fd_write", {I(2), I(100), I(1), I(500)}), kSuccess);
  EXPECT_FALSE(ctx_.stderrTruncated());
}

TEST_F(WasiImportsTest, FdReadStdinAcrossAppendsUntilEof) {
  ctx_.setStdin("abcdef");
  putIovecs(100, {{1000, 2}, {2000, 3}});
  ASSERT_EQ(call("fd_read", {I(0), I(100), I(2), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 5u);
  EXPECT_EQ(bytes(1000, 2), "ab");
  EXPECT_EQ(bytes(2000, 3), "cde");

  // A host-call reply arrives while the guest is still reading.
  ctx_.appendStdin("XYZ");
  putIovecs(100, {{1000, 10}});
  ASSERT_EQ(call("fd_read", {I(0), I(100), I(1), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 4u);
  EXPECT_EQ(bytes(1000, 4), "fXYZ");

  ASSERT_EQ(call("fd_read", {I(0), I(100), I(1), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 0u);  // end of input

  ctx_.appendStdin("more");
  ASSERT_EQ(call("fd_read", {I(0), I(100), I(1), I(500)}), kSuccess);
  EXPECT_EQ(u32(500), 4u);
  EXPECT_EQ(bytes(1000, 4), "more");
}

TEST_F(WasiImportsTest, FdReadFromOutputOrUnknownFdIsBadf) {
  ctx_.setStdin("x");
  putIovecs(100, {{1000, 1}});
  EXPECT_EQ(call("fd_read", {I(1), I(100), I(1), I(500)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_read", {I(7), I(100), I(1), I(500)}), code(Errno::BadF));
  EXPECT_EQ(ctx_.stdinAvailable(), 1u);
}

TEST_F(WasiImportsTest, ZeroLengthIovecIgnoresItsPointer) {
  putBytes(1000, "ok");
  putIovecs(100, {{0xfffffff0u, 0}, {1000, 2}});
  ASSERT_EQ(call("fd_write", {I(1), I(100), I(2), I(500)}), kSuccess);
  EXPECT_EQ(ctx_.capturedStdout(), "ok");
}

TEST_F(WasiImportsTest, FdCloseThenStdoutIsGone) {
  ASSERT_EQ(call("fd_close", {I(1)}), kSuccess);
  putIovecs(100, {{1000, 1}});
  EXPECT_EQ(call("fd_write", {I(1), I(100), I(1), I(500)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_close", {I(1)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_close", {I(5)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_fdstat_get", {I(1), I(600)}), code(Errno::BadF));
}

// ---- fdstat / filestat / rights ------------------------------------------------------------

TEST_F(WasiImportsTest, FdstatOfStdioIsCharacterDeviceWithDirectionalRights) {
  for (uint32_t fd = 0; fd < 3; ++fd) {
    std::memset(caller_.mem.data() + 600, 0xaa, kFdstatSize);
    ASSERT_EQ(call("fd_fdstat_get", {I(fd), I(600)}), kSuccess);
    EXPECT_EQ(caller_.mem[600], kFiletypeCharacterDevice);
    EXPECT_EQ(caller_.mem[601], 0);  // padding is cleared
    EXPECT_EQ(u16(602), 0);
    uint64_t base = u64(608);
    EXPECT_EQ((base & rights::kFdRead) != 0, fd == 0);
    EXPECT_EQ((base & rights::kFdWrite) != 0, fd != 0);
    EXPECT_NE(base & rights::kPollFdReadwrite, 0u);
    EXPECT_EQ(base & (rights::kFdSeek | rights::kFdTell | rights::kPathOpen), 0u);
    EXPECT_EQ(u64(616), 0u);
  }
  EXPECT_EQ(call("fd_fdstat_get", {I(3), I(600)}), code(Errno::BadF));
}

TEST_F(WasiImportsTest, FdstatSetFlagsIsRecorded) {
  ASSERT_EQ(call("fd_fdstat_set_flags", {I(1), I(4)}), kSuccess);  // nonblock
  ASSERT_EQ(call("fd_fdstat_get", {I(1), I(600)}), kSuccess);
  EXPECT_EQ(u16(602), 4);
  EXPECT_EQ(call("fd_fdstat_set_flags", {I(1), I(0x20)}), code(Errno::Inval));
  EXPECT_EQ(call("fd_fdstat_set_flags", {I(9), I(0)}), code(Errno::BadF));
}

TEST_F(WasiImportsTest, RightsCanBeDroppedButNotRegained) {
  ASSERT_EQ(call("fd_fdstat_get", {I(1), I(600)}), kSuccess);
  uint64_t base = u64(608);
  ASSERT_EQ(call("fd_fdstat_set_rights", {I(1), L(base & ~rights::kFdWrite), L(0)}), kSuccess);
  putIovecs(100, {{1000, 1}});
  EXPECT_EQ(call("fd_write", {I(1), I(100), I(1), I(500)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_fdstat_set_rights", {I(1), L(base), L(0)}), code(Errno::NotCapable));
  EXPECT_EQ(call("fd_fdstat_set_rights", {I(4), L(0), L(0)}), code(Errno::BadF));
}

TEST_F(WasiImportsTest, FilestatOfStdio) {
  std::memset(caller_.mem.data() + 600, 0xaa, kFilestatSize);
  ASSERT_EQ(call("fd_filestat_get", {I(2), I(600)}), kSuccess);
  EXPECT_EQ(u64(600), 0u);
  EXPECT_EQ(caller_.mem[616], kFiletypeCharacterDevice);
  EXPECT_EQ(u64(624), 1u);  // nlink
  EXPECT_EQ(u64(632), 0u);  // size
  EXPECT_EQ(u64(656), 0u);  // ctim, the last field
  EXPECT_EQ(call("fd_filestat_get", {I(3), I(600)}), code(Errno::BadF));
}

TEST_F(WasiImportsTest, StdioIsNotSeekable) {
  EXPECT_EQ(call("fd_seek", {I(0), L(0), I(1), I(600)}), code(Errno::SPipe));
  EXPECT_EQ(call("fd_tell", {I(1), I(600)}), code(Errno::SPipe));
  EXPECT_EQ(call("fd_pread", {I(0), I(100), I(1), L(0), I(600)}), code(Errno::SPipe));
  EXPECT_EQ(call("fd_pwrite", {I(1), I(100), I(1), L(0), I(600)}), code(Errno::SPipe));
  EXPECT_EQ(call("fd_advise", {I(1), L(0), L(10), I(0)}), code(Errno::SPipe));
  EXPECT_EQ(call("fd_allocate", {I(1), L(0), L(10)}), code(Errno::SPipe));
  EXPECT_EQ(call("fd_seek", {I(3), L(0), I(1), I(600)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_tell", {I(3), I(600)}), code(Errno::BadF));
}

TEST_F(WasiImportsTest, SyncOnStdioSucceeds) {
  EXPECT_EQ(call("fd_sync", {I(1)}), kSuccess);
  EXPECT_EQ(call("fd_datasync", {I(2)}), kSuccess);
  EXPECT_EQ(call("fd_sync", {I(3)}), code(Errno::BadF));
}

// ---- no filesystem, sockets or signals -------------------------------------------------------

TEST_F(WasiImportsTest, NoPreopensMeansPrestatBadf) {
  for (int32_t fd : {0, 1, 2, 3, 4}) {
    EXPECT_EQ(call("fd_prestat_get", {I(fd), I(600)}), code(Errno::BadF));
    EXPECT_EQ(call("fd_prestat_dir_name", {I(fd), I(600), I(16)}), code(Errno::BadF));
  }
}

TEST_F(WasiImportsTest, PathOperationsAreNotCapable) {
  putBytes(1000, "etc/passwd");
  EXPECT_EQ(call("path_open", {I(0), I(1), I(1000), I(10), I(0), L(~0ll), L(~0ll), I(0), I(600)}),
            code(Errno::NotCapable));
  EXPECT_EQ(call("path_open", {I(3), I(1), I(1000), I(10), I(0), L(~0ll), L(~0ll), I(0), I(600)}),
            code(Errno::BadF));
  EXPECT_EQ(call("path_filestat_get", {I(1), I(0), I(1000), I(10), I(600)}),
            code(Errno::NotCapable));
  EXPECT_EQ(call("path_create_directory", {I(2), I(1000), I(10)}), code(Errno::NotCapable));
  EXPECT_EQ(call("path_unlink_file", {I(3), I(1000), I(10)}), code(Errno::BadF));
  EXPECT_EQ(call("path_symlink", {I(1000), I(10), I(0), I(1000), I(10)}), code(Errno::NotCapable));
  EXPECT_EQ(call("path_rename", {I(0), I(1000), I(10), I(9), I(1000), I(10)}), code(Errno::BadF));
  EXPECT_EQ(call("path_link", {I(0), I(0), I(1000), I(10), I(1), I(1000), I(10)}),
            code(Errno::NotCapable));
  EXPECT_EQ(call("fd_readdir", {I(0), I(600), I(100), L(0), I(700)}), code(Errno::NotCapable));
  EXPECT_EQ(call("fd_readdir", {I(3), I(600), I(100), L(0), I(700)}), code(Errno::BadF));
  EXPECT_EQ(call("fd_filestat_set_size", {I(1), L(0)}), code(Errno::NotCapable));
  EXPECT_EQ(call("fd_renumber", {I(1), I(2)}), code(Errno::NotSup));
  EXPECT_EQ(call("fd_renumber", {I(1), I(3)}), code(Errno::BadF));
}

TEST_F(WasiImportsTest, SocketsAndSignalsAreUnsupported) {
  EXPECT_EQ(call("sock_accept", {I(0), I(0), I(600)}), code(Errno::NotSup));
  EXPECT_EQ(call("sock_recv", {I(0), I(100), I(1), I(0), I(600), I(604)}), code(Errno::NotSup));
  EXPECT_EQ(call("sock_send", {I(1), I(100), I(1), I(0), I(600)}), code(Errno::NotSup));
  EXPECT_EQ(call("sock_shutdown", {I(3), I(0)}), code(Errno::BadF));
  EXPECT_EQ(call("proc_raise", {I(6)}), code(Errno::NoSys));
  EXPECT_EQ(call("sched_yield", {}), kSuccess);
}

// ---- clocks and randomness -------------------------------------------------------------------

TEST_F(WasiImportsTest, MonotonicClockIncreases) {
  ASSERT_EQ(call("clock_time_get", {I(kClockMonotonic), L(1), I(600)}), kSuccess);
  uint64_t first = u64(600);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(call("clock_time_get", {I(kClockMonotonic), L(1), I(600)}), kSuccess);
  EXPECT_GE(u64(600) - first, 2'000'000u);
}

TEST_F(WasiImportsTest, RealtimeAndCpuClocks) {
  ASSERT_EQ(call("clock_time_get", {I(kClockRealtime), L(0), I(600)}), kSuccess);
  EXPECT_GT(u64(600), 1'600'000'000ull * 1'000'000'000ull);  // after September 2020
  EXPECT_EQ(call("clock_time_get", {I(kClockProcessCputime), L(0), I(600)}), kSuccess);
  EXPECT_EQ(call("clock_time_get", {I(kClockThreadCputime), L(0), I(600)}), kSuccess);
  EXPECT_EQ(call("clock_time_get", {I(4), L(0), I(600)}), code(Errno::Inval));
  for (uint32_t id = 0; id < 4; ++id) {
    put64(600, 0);
    ASSERT_EQ(call("clock_res_get", {I(id), I(600)}), kSuccess);
    EXPECT_GT(u64(600), 0u);
  }
  EXPECT_EQ(call("clock_res_get", {I(99), I(600)}), code(Errno::Inval));
}

TEST_F(WasiImportsTest, RandomGetFills) {
  std::memset(caller_.mem.data() + 1000, 0, 256);
  ASSERT_EQ(call("random_get", {I(1000), I(256)}), kSuccess);
  int nonzero = 0;
  for (int i = 0; i < 256; ++i) nonzero += caller_.mem[1000 + i] != 0;
  EXPECT_GT(nonzero, 200);  // 256 zero-checks; a real source leaves ~1 zero byte

  ctx_.setRandomSource([](std::span<uint8_t> dst) {
    for (auto& b : dst) b = 0x5a;
    return true;
  });
  ASSERT_EQ(call("random_get", {I(1000), I(4)}), kSuccess);
  EXPECT_EQ(u32(1000), 0x5a5a5a5au);
  EXPECT_EQ(call("random_get", {I(1000), I(0)}), kSuccess);

  ctx_.setRandomSource([](std::span<uint8_t>) { return false; });
  EXPECT_EQ(call("random_get", {I(1000), I(4)}), code(Errno::Io));
}

// ---- proc_exit -------------------------------------------------------------------------------

TEST_F(WasiImportsTest, ProcExitRecordsCodeAndUnwinds) {
  EXPECT_FALSE(ctx_.exitCode().has_value());
  auto r = invoke("proc_exit", {I(3)});
  EXPECT_TRUE(r.empty());
  ASSERT_EQ(caller_.failures.size(), 1u);
  EXPECT_EQ(caller_.failures[0].kind, FailKind::Exit);
  EXPECT_EQ(caller_.failures[0].exit_code, 3);
  EXPECT_EQ(ctx_.exitCode(), 3);
}

TEST_F(WasiImportsTest, ProcExitZeroStillUnwinds) {
  invoke("proc_exit", {I(0)});
  ASSERT_EQ(caller_.failures.size(), 1u);
  EXPECT_EQ(caller_.failures[0].kind, FailKind::Exit);
  EXPECT_EQ(caller_.failures[0].exit_code, 0);
  EXPECT_EQ(ctx_.exitCode(), 0);
}

// ---- poll_oneoff -----------------------------------------------------------------------------

TEST_F(WasiImportsTest, PollOneoffRelativeClockSleeps) {
  putClockSub(1000, 0x1122334455667788ull, kClockMonotonic, 5'000'000);  // 5 ms
  std::memset(caller_.mem.data() + 2000, 0xaa, kEventSize);
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), kSuccess);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(5));
  EXPECT_EQ(u32(3000), 1u);
  EXPECT_EQ(u64(2000), 0x1122334455667788ull);
  EXPECT_EQ(u16(2008), 0);  // error
  EXPECT_EQ(caller_.mem[2010], kEventtypeClock);
  EXPECT_EQ(u64(2016), 0u);
}

TEST_F(WasiImportsTest, PollOneoffAbsoluteClockInThePastFiresAtOnce) {
  putClockSub(1000, 7, kClockRealtime, 1, kSubclockAbstime);
  ASSERT_EQ(call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), kSuccess);
  EXPECT_EQ(u32(3000), 1u);
  EXPECT_EQ(u64(2000), 7u);
}

TEST_F(WasiImportsTest, PollOneoffCapsLongSleeps) {
  ctx_.setMaxPollSleep(std::chrono::milliseconds(10));
  putClockSub(1000, 1, kClockMonotonic, 3600ull * 1'000'000'000ull);  // an hour
  putClockSub(1048, 2, kClockMonotonic, 7200ull * 1'000'000'000ull);
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(call("poll_oneoff", {I(1000), I(2000), I(2), I(3000)}), kSuccess);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(u32(3000), 1u);  // the earliest clock is reported
  EXPECT_EQ(u64(2000), 1u);
}

TEST_F(WasiImportsTest, PollOneoffStdioIsReadyWithoutSleeping) {
  ctx_.setStdin("abc");
  putClockSub(1000, 10, kClockMonotonic, 3600ull * 1'000'000'000ull);
  putFdSub(1048, 11, kEventtypeFdRead, 0);
  putFdSub(1096, 12, kEventtypeFdWrite, 1);
  putFdSub(1144, 13, kEventtypeFdWrite, 0);  // stdin is not writable
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(call("poll_oneoff", {I(1000), I(2000), I(4), I(3000)}), kSuccess);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  ASSERT_EQ(u32(3000), 3u);
  EXPECT_EQ(u64(2000), 11u);
  EXPECT_EQ(caller_.mem[2010], kEventtypeFdRead);
  EXPECT_EQ(u64(2016), 3u);  // bytes available on stdin
  EXPECT_EQ(u64(2032), 12u);
  EXPECT_EQ(caller_.mem[2042], kEventtypeFdWrite);
  EXPECT_EQ(u64(2048), WasiContext::kDefaultOutputCap);
  EXPECT_EQ(u64(2064), 13u);
  EXPECT_EQ(u16(2072), code(Errno::BadF));
}

TEST_F(WasiImportsTest, PollOneoffRejectsBadInput) {
  EXPECT_EQ(call("poll_oneoff", {I(1000), I(2000), I(0), I(3000)}), code(Errno::Inval));
  putClockSub(1000, 5, 42, 1000);  // no such clock
  ASSERT_EQ(call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), kSuccess);
  EXPECT_EQ(u32(3000), 1u);
  EXPECT_EQ(u16(2008), code(Errno::Inval));
  caller_.mem[1008] = 9;  // no such event type
  ASSERT_EQ(call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), kSuccess);
  EXPECT_EQ(u16(2008), code(Errno::Inval));
}

// ---- bad pointers ------------------------------------------------------------------------------

TEST_F(WasiImportsTest, BadPointersAreEfault) {
  ctx_.setArgs({"a", "b"});
  ctx_.setEnv({"K=V"});
  ctx_.setStdin("input");
  putBytes(1000, "data");
  putIovecs(100, {{1000, 4}});
  putIovecs(200, {{kMemSize - 2, 4}});  // buffer runs off the end
  putClockSub(1000, 1, kClockMonotonic, 0);
  const int32_t efault = code(Errno::Fault);
  const int32_t high = static_cast<int32_t>(0x80000000u);  // must not sign-extend

  EXPECT_EQ(call("args_sizes_get", {I(kBad), I(104)}), efault);
  EXPECT_EQ(call("args_sizes_get", {I(100), I(kBad)}), efault);
  EXPECT_EQ(call("args_get", {I(kBad), I(300)}), efault);
  EXPECT_EQ(call("args_get", {I(200), I(kBad)}), efault);
  EXPECT_EQ(call("environ_sizes_get", {I(high), I(104)}), efault);
  EXPECT_EQ(call("environ_get", {I(kBad), I(300)}), efault);
  EXPECT_EQ(call("environ_get", {I(200), I(kBad)}), efault);
  EXPECT_EQ(call("clock_time_get", {I(kClockMonotonic), L(0), I(kBad)}), efault);
  EXPECT_EQ(call("clock_time_get", {I(kClockRealtime), L(0), I(high)}), efault);
  EXPECT_EQ(call("clock_res_get", {I(kClockMonotonic), I(kBad)}), efault);
  EXPECT_EQ(call("random_get", {I(kBad), I(16)}), efault);
  EXPECT_EQ(call("random_get", {I(high), I(1)}), efault);
  EXPECT_EQ(call("fd_write", {I(1), I(kBad), I(1), I(500)}), efault);  // iovec table
  EXPECT_EQ(call("fd_write", {I(1), I(100), I(-1), I(500)}), efault);  // huge count
  EXPECT_EQ(call("fd_write", {I(1), I(200), I(1), I(500)}), efault);   // buffer
  EXPECT_EQ(call("fd_write", {I(1), I(100), I(1), I(kBad)}), efault);  // nwritten
  EXPECT_EQ(call("fd_read", {I(0), I(kBad), I(1), I(500)}), efault);
  EXPECT_EQ(call("fd_read", {I(0), I(200), I(1), I(500)}), efault);
  EXPECT_EQ(call("fd_read", {I(0), I(100), I(1), I(high)}), efault);
  EXPECT_EQ(call("fd_fdstat_get", {I(0), I(kBad)}), efault);
  EXPECT_EQ(call("fd_filestat_get", {I(1), I(kBad)}), efault);
  EXPECT_EQ(call("poll_oneoff", {I(kBad), I(2000), I(1), I(3000)}), efault);
  EXPECT_EQ(call("poll_oneoff", {I(1000), I(kBad), I(1), I(3000)}), efault);
  EXPECT_EQ(call("poll_oneoff", {I(1000), I(2000), I(1), I(kBad)}), efault);
  EXPECT_EQ(call("poll_oneoff", {I(1000), I(2000), I(-1), I(3000)}), efault);

  // A failed call moved nothing: no output, no input consumed, and the guest was not aborted.
  EXPECT_EQ(ctx_.capturedStdout(), "");
  EXPECT_EQ(ctx_.stdinAvailable(), 5u);
  EXPECT_TRUE(caller_.failures.empty());
}

// ---- wiring ----------------------------------------------------------------------------------

TEST(WasiImportsWiringTest, MissingContextAbortsTheGuest) {
  kw::wasm::ImportSet set;
  addWasiImports(set, [](void*) -> WasiContext* { return nullptr; });
  MemoryCaller caller(kMemSize, nullptr);
  const auto* f = set.find(kModuleName, "fd_write");
  ASSERT_NE(f, nullptr);
  std::vector<Value> args = {I(1), I(0), I(0), I(0)};
  f->callback(caller, args);
  ASSERT_EQ(caller.failures.size(), 1u);
  EXPECT_EQ(caller.failures[0].kind, FailKind::HostError);
}

TEST(WasiContextTest, StreamsAreSafeToFeedFromAnotherThread) {
  WasiContext ctx;
  std::thread feeder([&] {
    for (int i = 0; i < 1000; ++i) ctx.appendStdin("x");
  });
  size_t total = 0;
  uint8_t buf[16];
  while (total < 1000) total += ctx.readStdin(buf);
  feeder.join();
  EXPECT_EQ(total, 1000u);
  EXPECT_EQ(ctx.stdinAvailable(), 0u);
}

}  // namespace
}  // namespace kw::wasi
