// WASI preview1 ABI constants: errno numbers, rights bits, enum tags and struct layouts as the
// guest sees them in linear memory. Values follow the preview1 witx (typenames.witx); all
// multi-byte fields are little-endian and laid out with natural alignment.
#pragma once

#include <cstdint>

namespace kw::wasi {

// The errno enum, in witx order (the numeric value is the position in that list).
enum class Errno : uint16_t {
  Success = 0,
  TooBig = 1,  // E2BIG
  Acces = 2,
  AddrInUse = 3,
  AddrNotAvail = 4,
  AfNoSupport = 5,
  Again = 6,
  Already = 7,
  BadF = 8,
  BadMsg = 9,
  Busy = 10,
  Canceled = 11,
  Child = 12,
  ConnAborted = 13,
  ConnRefused = 14,
  ConnReset = 15,
  DeadLk = 16,
  DestAddrReq = 17,
  Dom = 18,
  DQuot = 19,
  Exist = 20,
  Fault = 21,
  FBig = 22,
  HostUnreach = 23,
  IdRm = 24,
  IlSeq = 25,
  InProgress = 26,
  Intr = 27,
  Inval = 28,
  Io = 29,
  IsConn = 30,
  IsDir = 31,
  Loop = 32,
  MFile = 33,
  MLink = 34,
  MsgSize = 35,
  Multihop = 36,
  NameTooLong = 37,
  NetDown = 38,
  NetReset = 39,
  NetUnreach = 40,
  NFile = 41,
  NoBufs = 42,
  NoDev = 43,
  NoEnt = 44,
  NoExec = 45,
  NoLck = 46,
  NoLink = 47,
  NoMem = 48,
  NoMsg = 49,
  NoProtoOpt = 50,
  NoSpc = 51,
  NoSys = 52,
  NotConn = 53,
  NotDir = 54,
  NotEmpty = 55,
  NotRecoverable = 56,
  NotSock = 57,
  NotSup = 58,
  NoTty = 59,
  NxIo = 60,
  Overflow = 61,
  OwnerDead = 62,
  Perm = 63,
  Pipe = 64,
  Proto = 65,
  ProtoNoSupport = 66,
  ProtoType = 67,
  Range = 68,
  RoFs = 69,
  SPipe = 70,
  Srch = 71,
  Stale = 72,
  TimedOut = 73,
  TxtBsy = 74,
  XDev = 75,
  NotCapable = 76,
};

// clockid
inline constexpr uint32_t kClockRealtime = 0;
inline constexpr uint32_t kClockMonotonic = 1;
inline constexpr uint32_t kClockProcessCputime = 2;
inline constexpr uint32_t kClockThreadCputime = 3;

// filetype (u8)
inline constexpr uint8_t kFiletypeUnknown = 0;
inline constexpr uint8_t kFiletypeCharacterDevice = 2;

// fdflags (u16): append, dsync, nonblock, rsync, sync.
inline constexpr uint16_t kFdflagsAll = 0x1f;

// rights (u64): one bit per operation, in witx order.
namespace rights {
inline constexpr uint64_t kFdDatasync = 1ull << 0;
inline constexpr uint64_t kFdRead = 1ull << 1;
inline constexpr uint64_t kFdSeek = 1ull << 2;
inline constexpr uint64_t kFdFdstatSetFlags = 1ull << 3;
inline constexpr uint64_t kFdSync = 1ull << 4;
inline constexpr uint64_t kFdTell = 1ull << 5;
inline constexpr uint64_t kFdWrite = 1ull << 6;
inline constexpr uint64_t kFdAdvise = 1ull << 7;
inline constexpr uint64_t kFdAllocate = 1ull << 8;
inline constexpr uint64_t kPathOpen = 1ull << 13;
inline constexpr uint64_t kFdReaddir = 1ull << 14;
inline constexpr uint64_t kFdFilestatGet = 1ull << 21;
inline constexpr uint64_t kPollFdReadwrite = 1ull << 27;
}  // namespace rights

// eventtype (u8), also the subscription union tag.
inline constexpr uint8_t kEventtypeClock = 0;
inline constexpr uint8_t kEventtypeFdRead = 1;
inline constexpr uint8_t kEventtypeFdWrite = 2;

// subclockflags (u16)
inline constexpr uint16_t kSubclockAbstime = 1;

// Struct sizes and field offsets.
inline constexpr uint32_t kIovecSize = 8;      // {buf u32 @0, buf_len u32 @4}
inline constexpr uint32_t kFdstatSize = 24;    // filetype u8 @0, flags u16 @2, base @8, inherit @16
inline constexpr uint32_t kFilestatSize = 64;  // dev, ino, filetype @16, nlink, size, a/m/ctim
inline constexpr uint32_t kPrestatSize = 8;    // tag u8 @0, pr_name_len u32 @4
// subscription: userdata u64 @0, tag u8 @8, union @16:
//   clock {id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40}; fd_rw {fd u32 @16}
inline constexpr uint32_t kSubscriptionSize = 48;
// event: userdata u64 @0, error u16 @8, type u8 @10, fd_readwrite {nbytes u64 @16, flags u16 @24}
inline constexpr uint32_t kEventSize = 32;

inline constexpr char kModuleName[] = "wasi_snapshot_preview1";

}  // namespace kw::wasi
