#include "wasi/wasi_imports.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "wasi/wasi_abi.h"

namespace kw::wasi {
namespace {

using kw::wasm::Caller;
using kw::wasm::FailKind;
using kw::wasm::FuncType;
using kw::wasm::HostCallback;
using kw::wasm::ValType;
using kw::wasm::Value;

// ---- Little-endian field access inside guest structs -------------------------------------

void putU16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
void putU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void putU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint16_t getU16(const uint8_t* p) {
  return uint16_t(p[0] | p[1] << 8);
}
uint32_t getU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t getU64(const uint8_t* p) {
  return uint64_t(getU32(p)) | uint64_t(getU32(p + 4)) << 32;
}

// ---- One call's arguments -----------------------------------------------------------------

// Guest pointers and sizes are unsigned 32-bit values carried in i32 slots; going through
// uint32_t keeps an address above 2 GiB from sign-extending into a huge 64-bit offset.
struct Call {
  Caller& caller;
  WasiContext& ctx;
  std::span<const Value> args;

  uint32_t u32(size_t i) const { return static_cast<uint32_t>(args[i].i32); }
  uint64_t u64(size_t i) const { return static_cast<uint64_t>(args[i].i64); }
  bool writable(uint64_t ptr, uint64_t len) { return caller.memory(ptr, len).has_value(); }
};

using Handler = Errno (*)(Call&);

// ---- Scatter/gather lists ------------------------------------------------------------------

// A guest iovec array whose buffers have all been bounds-checked. Checking everything before
// moving a byte means a bad pointer fails the whole call with EFAULT instead of leaving a
// partial transfer behind. Nothing is copied into host memory, so a huge array costs time
// proportional to its length but no allocation.
class IovecList {
 public:
  static std::optional<IovecList> resolve(Caller& caller, uint32_t iovs, uint32_t count) {
    auto table = caller.memory(iovs, uint64_t{count} * kIovecSize);
    if (!table) return std::nullopt;
    IovecList list(caller, *table);
    for (uint32_t i = 0; i < count; ++i) {
      auto [buf, len] = list.entry(i);
      // Empty buffers are never touched; Rust passes dangling (but harmless) pointers for them.
      if (len != 0 && !caller.memory(buf, len)) return std::nullopt;
    }
    return list;
  }

  // Calls visit(span) for each non-empty buffer in order until it returns false.
  template <typename Visit>
  void forEach(Visit visit) const {
    for (size_t i = 0; i < table_.size() / kIovecSize; ++i) {
      auto [buf, len] = entry(i);
      if (len == 0) continue;
      if (!visit(*caller_->memory(buf, len))) return;
    }
  }

  uint64_t totalBytes() const {
    uint64_t total = 0;
    for (size_t i = 0; i < table_.size() / kIovecSize; ++i) total += entry(i).second;
    return total;
  }

 private:
  IovecList(Caller& caller, std::span<uint8_t> table) : caller_(&caller), table_(table) {}
  std::pair<uint32_t, uint32_t> entry(size_t i) const {
    const uint8_t* p = table_.data() + i * kIovecSize;
    return {getU32(p), getU32(p + 4)};
  }

  Caller* caller_;
  std::span<uint8_t> table_;
};

// ---- Descriptor checks -----------------------------------------------------------------------

// Reading a write-only descriptor (or writing stdin) is EBADF, as in POSIX, whether the fd
// never had the direction or the guest dropped it through fd_fdstat_set_rights.
StdioFd* streamFd(WasiContext& ctx, uint32_t fd, uint64_t direction_right) {
  StdioFd* f = ctx.stdioFd(fd);
  return f && (f->rights_base & direction_right) ? f : nullptr;
}

// Other operations: an unknown or closed fd is EBADF, a missing right is ENOTCAPABLE.
Errno requireRight(WasiContext& ctx, uint32_t fd, uint64_t right) {
  StdioFd* f = ctx.stdioFd(fd);
  if (!f) return Errno::BadF;
  return (f->rights_base & right) ? Errno::Success : Errno::NotCapable;
}

// For operations stdio can never perform: EBADF unless the fd is open, then `otherwise`.
Errno openOr(WasiContext& ctx, uint32_t fd, Errno otherwise) {
  return ctx.stdioFd(fd) ? otherwise : Errno::BadF;
}

size_t appendOutput(WasiContext& ctx, uint32_t fd, std::string_view bytes) {
  return fd == 1 ? ctx.appendStdout(bytes) : ctx.appendStderr(bytes);
}

size_t outputRoom(WasiContext& ctx, uint32_t fd) {
  return fd == 1 ? ctx.stdoutRoom() : ctx.stderrRoom();
}

// ---- args / environ ----------------------------------------------------------------------

// Both are a list of NUL-terminated strings: a pointer table plus one packed byte buffer.
Errno listSizesGet(Call& c, const std::vector<std::string>& list) {
  uint64_t bytes = 0;
  for (const auto& s : list) bytes += s.size() + 1;
  if (list.size() > UINT32_MAX || bytes > UINT32_MAX) return Errno::Overflow;
  uint32_t count_ptr = c.u32(0), size_ptr = c.u32(1);
  if (!c.writable(count_ptr, 4) || !c.writable(size_ptr, 4)) return Errno::Fault;
  c.caller.writeU32(count_ptr, static_cast<uint32_t>(list.size()));
  c.caller.writeU32(size_ptr, static_cast<uint32_t>(bytes));
  return Errno::Success;
}

Errno listGet(Call& c, const std::vector<std::string>& list) {
  uint32_t table_ptr = c.u32(0), buf_ptr = c.u32(1);
  uint64_t bytes = 0;
  for (const auto& s : list) bytes += s.size() + 1;
  auto table = c.caller.memory(table_ptr, uint64_t{list.size()} * 4);
  auto buf = c.caller.memory(buf_ptr, bytes);
  if (!table || !buf) return Errno::Fault;
  uint64_t offset = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    putU32(table->data() + i * 4, static_cast<uint32_t>(buf_ptr + offset));
    std::memcpy(buf->data() + offset, list[i].data(), list[i].size());
    offset += list[i].size();
    (*buf)[offset++] = 0;
  }
  return Errno::Success;
}

Errno argsGet(Call& c) {
  return listGet(c, c.ctx.args());
}
Errno argsSizesGet(Call& c) {
  return listSizesGet(c, c.ctx.args());
}
Errno environGet(Call& c) {
  return listGet(c, c.ctx.env());
}
Errno environSizesGet(Call& c) {
  return listSizesGet(c, c.ctx.env());
}

// ---- clocks, randomness, scheduling ------------------------------------------------------

Errno clockResGet(Call& c) {
  auto res = c.ctx.clockResolution(c.u32(0));
  if (!res) return Errno::Inval;
  return c.caller.writeU64(c.u32(1), *res) ? Errno::Success : Errno::Fault;
}

// The precision argument (index 1) is a hint that the host may ignore.
Errno clockTimeGet(Call& c) {
  auto now = c.ctx.clockTime(c.u32(0));
  if (!now) return Errno::Inval;
  return c.caller.writeU64(c.u32(2), *now) ? Errno::Success : Errno::Fault;
}

Errno randomGet(Call& c) {
  auto buf = c.caller.memory(c.u32(0), c.u32(1));
  if (!buf) return Errno::Fault;
  return c.ctx.fillRandom(*buf) ? Errno::Success : Errno::Io;
}

Errno schedYield(Call&) {
  std::this_thread::yield();
  return Errno::Success;
}

Errno procExit(Call& c) {
  int32_t code = c.args[0].i32;
  c.ctx.setExitCode(code);
  c.caller.fail(FailKind::Exit, "exit", code);
  return Errno::Success;
}

Errno procRaise(Call&) {
  return Errno::NoSys;
}

// ---- stdio streams -------------------------------------------------------------------------

// fd_write(fd, iovs, iovs_len, nwritten). Output beyond the context's cap is a short write;
// a write into a full stream is EFBIG.
Errno fdWrite(Call& c) {
  uint32_t fd = c.u32(0), nwritten_ptr = c.u32(3);
  if (!streamFd(c.ctx, fd, rights::kFdWrite)) return Errno::BadF;
  auto list = IovecList::resolve(c.caller, c.u32(1), c.u32(2));
  if (!list || !c.writable(nwritten_ptr, 4)) return Errno::Fault;
  uint64_t written = 0;
  list->forEach([&](std::span<uint8_t> piece) {
    // The count goes back as a u32, so one call never reports more than that.
    size_t take = std::min<uint64_t>(piece.size(), UINT32_MAX - written);
    size_t kept =
        appendOutput(c.ctx, fd, std::string_view(reinterpret_cast<char*>(piece.data()), take));
    written += kept;
    return kept == piece.size();
  });
  if (written == 0 && list->totalBytes() > 0) return Errno::FBig;
  c.caller.writeU32(nwritten_ptr, static_cast<uint32_t>(written));
  return Errno::Success;
}

// fd_read(fd, iovs, iovs_len, nread). Only stdin is readable; 0 bytes means end of input.
Errno fdRead(Call& c) {
  uint32_t fd = c.u32(0), nread_ptr = c.u32(3);
  if (!streamFd(c.ctx, fd, rights::kFdRead)) return Errno::BadF;
  auto list = IovecList::resolve(c.caller, c.u32(1), c.u32(2));
  if (!list || !c.writable(nread_ptr, 4)) return Errno::Fault;
  uint64_t nread = 0;
  list->forEach([&](std::span<uint8_t> piece) {
    size_t want = std::min<uint64_t>(piece.size(), UINT32_MAX - nread);
    size_t got = c.ctx.readStdin(piece.first(want));
    nread += got;
    return got == piece.size();
  });
  c.caller.writeU32(nread_ptr, static_cast<uint32_t>(nread));
  return Errno::Success;
}

Errno fdClose(Call& c) {
  StdioFd* f = c.ctx.stdioFd(c.u32(0));
  if (!f) return Errno::BadF;
  f->open = false;
  return Errno::Success;
}

// Captured output lives in host memory already; there is nothing to flush.
Errno fdSync(Call& c) {
  return requireRight(c.ctx, c.u32(0), rights::kFdSync);
}
Errno fdDatasync(Call& c) {
  return requireRight(c.ctx, c.u32(0), rights::kFdDatasync);
}

Errno fdFdstatGet(Call& c) {
  StdioFd* f = c.ctx.stdioFd(c.u32(0));
  if (!f) return Errno::BadF;
  auto out = c.caller.memory(c.u32(1), kFdstatSize);
  if (!out) return Errno::Fault;
  uint8_t* p = out->data();
  std::memset(p, 0, kFdstatSize);
  p[0] = kFiletypeCharacterDevice;
  putU16(p + 2, f->flags);
  putU64(p + 8, f->rights_base);
  putU64(p + 16, f->rights_inheriting);
  return Errno::Success;
}

// Flags are recorded and reported back; stdio behaves the same whatever they say (a capture
// buffer never blocks, and appending is the only way it is written anyway).
Errno fdFdstatSetFlags(Call& c) {
  uint32_t fd = c.u32(0), flags = c.u32(1);
  Errno e = requireRight(c.ctx, fd, rights::kFdFdstatSetFlags);
  if (e != Errno::Success) return e;
  if (flags & ~uint32_t{kFdflagsAll}) return Errno::Inval;
  c.ctx.stdioFd(fd)->flags = static_cast<uint16_t>(flags);
  return Errno::Success;
}

// Rights can only be dropped, never added back.
Errno fdFdstatSetRights(Call& c) {
  StdioFd* f = c.ctx.stdioFd(c.u32(0));
  if (!f) return Errno::BadF;
  uint64_t base = c.u64(1), inheriting = c.u64(2);
  if ((base & ~f->rights_base) || (inheriting & ~f->rights_inheriting)) return Errno::NotCapable;
  f->rights_base = base;
  f->rights_inheriting = inheriting;
  return Errno::Success;
}

// stdio is a character device with one link; sizes and timestamps are unknown, hence zero.
Errno fdFilestatGet(Call& c) {
  Errno e = requireRight(c.ctx, c.u32(0), rights::kFdFilestatGet);
  if (e != Errno::Success) return e;
  auto out = c.caller.memory(c.u32(1), kFilestatSize);
  if (!out) return Errno::Fault;
  uint8_t* p = out->data();
  std::memset(p, 0, kFilestatSize);
  p[16] = kFiletypeCharacterDevice;
  putU64(p + 24, 1);
  return Errno::Success;
}

// ---- operations stdio cannot perform -----------------------------------------------------

// There are no preopened directories; EBADF is how guests learn the list is empty.
Errno fdPrestatGet(Call&) {
  return Errno::BadF;
}
Errno fdPrestatDirName(Call&) {
  return Errno::BadF;
}

// Positional operations on a stream.
Errno notSeekable(Call& c) {
  return openOr(c.ctx, c.u32(0), Errno::SPipe);
}

// Operations needing rights no stdio descriptor holds (file sizes, times, directories).
Errno lacksRight(Call& c) {
  return openOr(c.ctx, c.u32(0), Errno::NotCapable);
}

Errno fdRenumber(Call& c) {
  if (!c.ctx.stdioFd(c.u32(0)) || !c.ctx.stdioFd(c.u32(1))) return Errno::BadF;
  return Errno::NotSup;
}

// path_*: no descriptor is a directory, so every path operation lacks its capability.
template <size_t DirFdArg>
Errno pathOp(Call& c) {
  return openOr(c.ctx, c.u32(DirFdArg), Errno::NotCapable);
}

// path_link and path_rename take two directory descriptors.
template <size_t FirstFd, size_t SecondFd>
Errno pathOp2(Call& c) {
  if (!c.ctx.stdioFd(c.u32(FirstFd)) || !c.ctx.stdioFd(c.u32(SecondFd))) return Errno::BadF;
  return Errno::NotCapable;
}

// No sockets exist: stdio descriptors are not sockets and no others can be opened.
Errno sockOp(Call& c) {
  return openOr(c.ctx, c.u32(0), Errno::NotSup);
}

// ---- poll_oneoff -----------------------------------------------------------------------------

struct Subscription {
  uint64_t userdata = 0;
  uint8_t tag = 0;
  uint32_t clock_or_fd = 0;  // clock id for clock subscriptions, fd otherwise (same offset)
  uint64_t timeout = 0;
  uint16_t flags = 0;
};

Subscription parseSubscription(const uint8_t* p) {
  Subscription s;
  s.userdata = getU64(p);
  s.tag = p[8];
  s.clock_or_fd = getU32(p + 16);
  s.timeout = getU64(p + 24);
  s.flags = getU16(p + 40);
  return s;
}

// What a subscription says now, without waiting.
struct SubState {
  bool ready = false;
  Errno error = Errno::Success;
  uint64_t nbytes = 0;
  uint64_t wait_ns = 0;  // for a clock not yet due: time left
};

// `elapsed_ns` is how long this poll has already slept; relative timeouts count from its start.
SubState inspectClock(WasiContext& ctx, const Subscription& s, uint64_t elapsed_ns) {
  SubState st;
  auto now = ctx.clockTime(s.clock_or_fd);
  if (!now) return {.ready = true, .error = Errno::Inval};
  if (s.flags & kSubclockAbstime) {
    st.wait_ns = s.timeout > *now ? s.timeout - *now : 0;
  } else {
    st.wait_ns = s.timeout > elapsed_ns ? s.timeout - elapsed_ns : 0;
  }
  st.ready = st.wait_ns == 0;
  return st;
}

// stdio never blocks: stdin is either readable or at end of input, output is a buffer.
SubState inspectFd(WasiContext& ctx, const Subscription& s) {
  uint32_t fd = s.clock_or_fd;
  bool read = s.tag == kEventtypeFdRead;
  if (!streamFd(ctx, fd, read ? rights::kFdRead : rights::kFdWrite)) {
    return {.ready = true, .error = Errno::BadF};
  }
  return {.ready = true, .nbytes = read ? ctx.stdinAvailable() : outputRoom(ctx, fd)};
}

SubState inspect(WasiContext& ctx, const Subscription& s, uint64_t elapsed_ns) {
  switch (s.tag) {
    case kEventtypeClock:
      return inspectClock(ctx, s, elapsed_ns);
    case kEventtypeFdRead:
    case kEventtypeFdWrite:
      return inspectFd(ctx, s);
    default:
      return {.ready = true, .error = Errno::Inval};
  }
}

void putEvent(uint8_t* p, const Subscription& s, const SubState& st) {
  std::memset(p, 0, kEventSize);
  putU64(p, s.userdata);
  putU16(p + 8, static_cast<uint16_t>(st.error));
  p[10] = s.tag;
  if (s.tag != kEventtypeClock) putU64(p + 16, st.nbytes);
}

// poll_oneoff(in, out, nsubscriptions, nevents). Two passes over the guest's array, nothing
// copied: the first decides whether anything is ready and otherwise which clock is due first;
// after sleeping (never longer than the context's cap) the second writes the events. When the
// cap cut the sleep short, the earliest clock is still reported so the guest re-checks time
// itself; a guest sleeping "forever" thus keeps coming back and the call deadline can fire.
Errno pollOneoff(Call& c) {
  uint32_t count = c.u32(2), nevents_ptr = c.u32(3);
  if (count == 0) return Errno::Inval;
  auto subs = c.caller.memory(c.u32(0), uint64_t{count} * kSubscriptionSize);
  auto events = c.caller.memory(c.u32(1), uint64_t{count} * kEventSize);
  if (!subs || !events || !c.writable(nevents_ptr, 4)) return Errno::Fault;

  bool any_ready = false;
  uint32_t earliest = 0;
  uint64_t earliest_wait = std::numeric_limits<uint64_t>::max();
  for (uint32_t i = 0; i < count; ++i) {
    SubState st = inspect(c.ctx, parseSubscription(subs->data() + i * kSubscriptionSize), 0);
    if (st.ready) any_ready = true;
    if (!st.ready && st.wait_ns < earliest_wait) {
      earliest_wait = st.wait_ns;
      earliest = i;
    }
  }

  uint64_t elapsed_ns = 0;
  if (!any_ready) {
    auto start = std::chrono::steady_clock::now();
    auto cap = std::chrono::nanoseconds(c.ctx.maxPollSleep());
    uint64_t cap_ns = cap.count() > 0 ? static_cast<uint64_t>(cap.count()) : 0;
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min(earliest_wait, cap_ns)));
    elapsed_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count());
  }

  uint32_t produced = 0;
  for (uint32_t i = 0; i < count; ++i) {
    Subscription s = parseSubscription(subs->data() + i * kSubscriptionSize);
    SubState st = inspect(c.ctx, s, elapsed_ns);
    if (!st.ready && (any_ready || i != earliest)) continue;
    putEvent(events->data() + produced * kEventSize, s, st);
    ++produced;
  }
  c.caller.writeU32(nevents_ptr, produced);
  return Errno::Success;
}

// ---- Registration ----------------------------------------------------------------------------

// params: one letter per wasm parameter, 'i' = i32, 'I' = i64 (timestamps, offsets, rights,
// file sizes). Every function returns an errno i32 except proc_exit, which returns nothing.
struct Entry {
  const char* name;
  const char* params;
  Handler handler;
  bool returns_errno = true;
};

const Entry kEntries[] = {
    {"args_get", "ii", argsGet},
    {"args_sizes_get", "ii", argsSizesGet},
    {"environ_get", "ii", environGet},
    {"environ_sizes_get", "ii", environSizesGet},
    {"clock_res_get", "ii", clockResGet},
    {"clock_time_get", "iIi", clockTimeGet},
    {"fd_advise", "iIIi", notSeekable},
    {"fd_allocate", "iII", notSeekable},
    {"fd_close", "i", fdClose},
    {"fd_datasync", "i", fdDatasync},
    {"fd_fdstat_get", "ii", fdFdstatGet},
    {"fd_fdstat_set_flags", "ii", fdFdstatSetFlags},
    {"fd_fdstat_set_rights", "iII", fdFdstatSetRights},
    {"fd_filestat_get", "ii", fdFilestatGet},
    {"fd_filestat_set_size", "iI", lacksRight},
    {"fd_filestat_set_times", "iIIi", lacksRight},
    {"fd_pread", "iiiIi", notSeekable},
    {"fd_prestat_get", "ii", fdPrestatGet},
    {"fd_prestat_dir_name", "iii", fdPrestatDirName},
    {"fd_pwrite", "iiiIi", notSeekable},
    {"fd_read", "iiii", fdRead},
    {"fd_readdir", "iiiIi", lacksRight},
    {"fd_renumber", "ii", fdRenumber},
    {"fd_seek", "iIii", notSeekable},
    {"fd_sync", "i", fdSync},
    {"fd_tell", "ii", notSeekable},
    {"fd_write", "iiii", fdWrite},
    {"path_create_directory", "iii", pathOp<0>},
    {"path_filestat_get", "iiiii", pathOp<0>},
    {"path_filestat_set_times", "iiiiIIi", pathOp<0>},
    {"path_link", "iiiiiii", pathOp2<0, 4>},
    {"path_open", "iiiiiIIii", pathOp<0>},
    {"path_readlink", "iiiiii", pathOp<0>},
    {"path_remove_directory", "iii", pathOp<0>},
    {"path_rename", "iiiiii", pathOp2<0, 3>},
    {"path_symlink", "iiiii", pathOp<2>},
    {"path_unlink_file", "iii", pathOp<0>},
    {"poll_oneoff", "iiii", pollOneoff},
    {"proc_exit", "i", procExit, false},
    {"proc_raise", "i", procRaise},
    {"random_get", "ii", randomGet},
    {"sched_yield", "", schedYield},
    {"sock_accept", "iii", sockOp},
    {"sock_recv", "iiiiii", sockOp},
    {"sock_send", "iiiii", sockOp},
    {"sock_shutdown", "ii", sockOp},
};

FuncType signature(const Entry& e) {
  FuncType type;
  for (const char* p = e.params; *p; ++p) {
    type.params.push_back(*p == 'I' ? ValType::I64 : ValType::I32);
  }
  if (e.returns_errno) type.results.push_back(ValType::I32);
  return type;
}

HostCallback bind(const Entry& e, ContextAccessor accessor) {
  Handler handler = e.handler;
  size_t arity = std::strlen(e.params);
  bool returns_errno = e.returns_errno;
  return [=](Caller& caller, std::span<const Value> args) -> std::vector<Value> {
    std::vector<Value> results;
    if (returns_errno) results.push_back(Value::fromI32(static_cast<int32_t>(Errno::Inval)));
    WasiContext* ctx = accessor(caller.hostData());
    if (!ctx) {
      caller.fail(FailKind::HostError, "wasi: no WASI context attached to this instance");
      return results;
    }
    if (args.size() != arity) {
      caller.fail(FailKind::HostError, "wasi: wrong number of arguments");
      return results;
    }
    Call call{caller, *ctx, args};
    Errno e = handler(call);
    if (returns_errno) results[0] = Value::fromI32(static_cast<int32_t>(e));
    return results;
  };
}

}  // namespace

void addWasiImports(kw::wasm::ImportSet& set, ContextAccessor accessor) {
  for (const Entry& e : kEntries) {
    set.add(kw::wasm::HostFunction{kModuleName, e.name, signature(e), bind(e, accessor)});
  }
}

void addWasiUnstableAliases(kw::wasm::ImportSet& set) {
  static const char* kSameAbi[] = {
      "args_get",       "args_sizes_get",      "environ_get", "environ_sizes_get",
      "clock_res_get",  "clock_time_get",      "fd_close",    "fd_fdstat_get",
      "fd_prestat_get", "fd_prestat_dir_name", "fd_read",     "fd_write",
      "proc_exit",      "random_get",          "sched_yield"};
  for (const char* name : kSameAbi) {
    if (const kw::wasm::HostFunction* fn = set.find("wasi_snapshot_preview1", name)) {
      kw::wasm::HostFunction copy = *fn;
      copy.module = "wasi_unstable";
      set.add(std::move(copy));
    }
  }
}

}  // namespace kw::wasi
