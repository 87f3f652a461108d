// Registers the WASI preview1 functions ("wasi_snapshot_preview1") of the in-memory host on an
// engine-neutral ImportSet. Callbacks find their per-instance WasiContext through an accessor
// applied to Caller::hostData(), so one ImportSet serves every instance of a runtime.
//
// Supported: args/environ, clocks, random_get, fd_read on stdin, fd_write to stdout/stderr,
// stdio fdstat/filestat/close/sync, poll_oneoff (clock and stdio subscriptions), sched_yield and
// proc_exit. Everything else is registered with its exact signature and returns an errno:
// no preopens (EBADF), no paths (ENOTCAPABLE), no seeking on stdio (ESPIPE), no sockets
// (ENOTSUP), no signals (ENOSYS). A guest pointer outside memory yields EFAULT, never a crash.
#pragma once

#include "kw/wasm/engine.h"
#include "wasi/wasi_context.h"

namespace kw::wasi {

// Maps the instance's host data to its WASI state. Returning nullptr aborts the guest with
// FailKind::HostError (a wiring bug, not something a guest can cause).
using ContextAccessor = WasiContext* (*)(void* host_data);

void addWasiImports(kw::wasm::ImportSet& set, ContextAccessor accessor);

// Older toolchains (TinyGo among them) import from "wasi_unstable" (snapshot 0). Registers, under
// that module name, copies of the preview1 functions whose ABI did not change between the
// snapshots; the others (fd_seek's whence values, filestat layouts) are left out on purpose,
// since they would misbehave silently. Call after addWasiImports.
void addWasiUnstableAliases(kw::wasm::ImportSet& set);

}  // namespace kw::wasi
